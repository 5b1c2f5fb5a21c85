/*
 * Baseline for the harness's full-touch and full-madvise strategies on anon-private memory: the
 * same read of one byte per page, or the same MADV_POPULATE_READ of the whole region, without
 * the harness around it, so that a gap between the two shows overhead in the harness rather
 * than in the kernel.
 *
 * Usage: touch-loop [SIZE_MIB [REPS [WARMUP [METHOD [THP]]]]]   (defaults 1024 5 1 touch nohuge)
 *        METHOD: touch (a byte read per 4 KiB page) or madvise (MADV_POPULATE_READ)
 *        THP: nohuge (MADV_NOHUGEPAGE) or huge (MADV_HUGEPAGE), as the harness's --thp
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define PAGE 4096

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22 /* Linux 5.14; older headers lack it */
#endif

static void die(const char *call)
{
    fprintf(stderr, "touch-loop: %s failed: %s (errno %d)\n", call, strerror(errno), errno);
    exit(1);
}

static long parse(const char *text, const char *what, long min, long max)
{
    char *end;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno || end == text || *end || value < min || value > max) {
        fprintf(stderr, "touch-loop: %s must be a whole number in %ld...%ld, not '%s'\n", what, min, max, text);
        exit(2);
    }
    return value;
}

static double now(void)
{
    struct timespec t;
    if (clock_gettime(CLOCK_MONOTONIC, &t) != 0)
        die("clock_gettime");
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* A fresh mapping per repetition, as the harness gets from a fresh child per trial: reading
 * pages that are already mapped would time nothing but the loop. */
static double touch_once(size_t size, int madvise_read, int huge)
{
    /* Aligned to 2 MiB, as the harness aligns its regions: with huge pages every PMD is whole. */
    size_t align = 2 << 20;
    char *padded = mmap(NULL, size + align, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (padded == MAP_FAILED)
        die("mmap");
    char *base = (char *)(((uintptr_t)padded + align - 1) & ~(uintptr_t)(align - 1));
    /* Huge pages fault 512 pages at a time (the huge zero page, on a read): --thp huge and
     * nohuge time different work, so each side is given the same advice. */
    if (madvise(base, size, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE) != 0)
        die(huge ? "madvise(MADV_HUGEPAGE)" : "madvise(MADV_NOHUGEPAGE)");

    /* volatile: the loaded bytes are unused, and the compiler would otherwise drop the loop.
     * A moving pointer, not base[off]: for that, gcc -O2 advances off between computing the
     * address and the load, and on the AMD EPYC KVM guest this was written on, that order made
     * every fault ~20% dearer. This form loads first; the harness runs this same loop (clmm_read_every). */
    const volatile char *end = base + size;
    double start = now();
    if (madvise_read) {
        if (madvise(base, size, MADV_POPULATE_READ) != 0)
            die("madvise(MADV_POPULATE_READ)");
    } else {
        for (const volatile char *p = base; p < end; p += PAGE)
            (void)*p;
    }
    double seconds = now() - start;

    if (munmap(padded, size + align) != 0)
        die("munmap");
    return seconds;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc > 6) {
        fprintf(stderr, "usage: %s [SIZE_MIB [REPS [WARMUP [touch|madvise [nohuge|huge]]]]]\n", argv[0]);
        return 2;
    }
    size_t size = (size_t)(argc > 1 ? parse(argv[1], "SIZE_MIB", 1, 1L << 30) : 1024) << 20;
    long reps = argc > 2 ? parse(argv[2], "REPS", 1, 1000000) : 5;
    long warmup = argc > 3 ? parse(argv[3], "WARMUP", 0, 1000000) : 1;
    int madvise_read = 0;
    if (argc > 4) {
        if (strcmp(argv[4], "madvise") == 0)
            madvise_read = 1;
        else if (strcmp(argv[4], "touch") != 0) {
            fprintf(stderr, "touch-loop: METHOD must be touch or madvise, not '%s'\n", argv[4]);
            return 2;
        }
    }
    int huge = 0;
    if (argc > 5) {
        if (strcmp(argv[5], "huge") == 0)
            huge = 1;
        else if (strcmp(argv[5], "nohuge") != 0) {
            fprintf(stderr, "touch-loop: THP must be nohuge or huge, not '%s'\n", argv[5]);
            return 2;
        }
    }

    /* The first touch of fresh memory in a VM is slow and noisy, as in the harness's --warmup. */
    for (long i = 0; i < warmup; i++)
        touch_once(size, madvise_read, huge);

    double *times = malloc((size_t)reps * sizeof *times);
    if (!times)
        die("malloc");
    for (long i = 0; i < reps; i++) {
        times[i] = touch_once(size, madvise_read, huge);
        printf("rep %ld seconds %.6f\n", i + 1, times[i]);
    }

    qsort(times, (size_t)reps, sizeof *times, by_value);
    double median = reps % 2 ? times[reps / 2] : (times[reps / 2 - 1] + times[reps / 2]) / 2;
    printf("median_seconds %.6f\n", median);
    free(times);
    return 0;
}
