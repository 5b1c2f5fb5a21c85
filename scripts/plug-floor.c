/*
 * The floor under a trial's plug: writing SIZE_MIB of private anonymous memory (4 KiB pages, THP
 * off) as the guest's pages are written before a trial, then unmapping it, with nothing of the
 * harness around it. `page` writes every word of each page (as GuestPattern.plug does); `word`
 * faults the pages in with MADV_POPULATE_WRITE and writes one word a page (the cheapest way to
 * make them resident and different). Compare with the rows' setup_seconds and teardown_seconds
 * (docs/overhead.md, "The default run").
 *
 * Usage: plug-floor [SIZE_MIB [REPS [page|word]]]   (defaults 128 3 page)
 * Build: cc -O2 -o plug-floor scripts/plug-floor.c
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

static double monotonic(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    size_t size = (size_t)(argc > 1 ? atol(argv[1]) : 128) << 20;
    int reps = argc > 2 ? atoi(argv[2]) : 3;
    int whole = argc > 3 ? strcmp(argv[3], "word") != 0 : 1;
    if (size == 0 || reps <= 0) {
        fprintf(stderr, "usage: plug-floor [SIZE_MIB [REPS [page|word]]]\n");
        return 2;
    }
    for (int rep = 0; rep < reps; rep++) {
        char *region = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (region == MAP_FAILED) { perror("mmap"); return 1; }
        if (madvise(region, size, MADV_NOHUGEPAGE) != 0) { perror("madvise(MADV_NOHUGEPAGE)"); return 1; }
        double start = monotonic();
        if (whole) {
            for (size_t offset = 0; offset < size; offset += 4096) {
                uint64_t *words = (uint64_t *)(region + offset);
                for (int word = 0; word < 512; word++) words[word] = offset | 1;
            }
        } else {
            if (madvise(region, size, MADV_POPULATE_WRITE) != 0) { perror("madvise(MADV_POPULATE_WRITE)"); return 1; }
            for (size_t offset = 0; offset < size; offset += 4096) *(volatile uint64_t *)(region + offset) = offset | 1;
        }
        double written = monotonic() - start;
        start = monotonic();
        if (munmap(region, size) != 0) { perror("munmap"); return 1; }
        printf("%s, %zu MiB: plug %.1f ms, unmap %.1f ms\n", whole ? "page" : "word", size >> 20, written * 1e3,
               (monotonic() - start) * 1e3);
    }
    return 0;
}
