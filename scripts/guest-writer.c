/*
 * The virtio-mem guest's writers (bench qemu --guest-writers N): what a VM owner feels during a
 * background snapshot is how long the guest's own writes take while QEMU's migration thread serves
 * its write faults. Runs inside the busybox guest, built static by scripts/qemu-real.sh.
 *
 *   guest-writer THREADS MIB
 *
 * Maps MIB MiB and writes every page once (the guest's allocator serves user memory from
 * virtio-mem's movable zone first, so this is the plugged memory), says "@@@ WRITERS READY MIB",
 * waits for SIGUSR1, then THREADS threads each write one word of a random page, timing every write
 * (CLOCK_MONOTONIC), until SIGUSR2; then it says
 *   "@@@ WRITES COUNT P50_NS P99_NS MAX_NS"
 * and exits. Latencies go into buckets of 100 ns up to 100 ms (the maximum is exact).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define BUCKET_NS 100
#define BUCKETS 1000000 /* 100 ms */
#define PAGE 4096

static unsigned char *memory;
static size_t pages;
static atomic_int stop;

struct writer {
    pthread_t thread;
    uint64_t seed;
    uint64_t count;
    uint64_t max_ns;
    uint32_t *buckets;
};

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void *write_pages(void *argument)
{
    struct writer *w = argument;
    uint64_t x = w->seed;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        volatile uint64_t *word = (volatile uint64_t *)(memory + (x % pages) * PAGE + (x >> 40) % (PAGE / 8) * 8);
        uint64_t start = now_ns();
        *word = x;
        uint64_t took = now_ns() - start;
        uint64_t bucket = took / BUCKET_NS;
        w->buckets[bucket < BUCKETS ? bucket : BUCKETS - 1]++;
        if (took > w->max_ns) w->max_ns = took;
        w->count++;
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 3 || atoi(argv[1]) < 1 || atol(argv[2]) < 1) {
        fprintf(stderr, "usage: guest-writer THREADS MIB\n");
        return 2;
    }
    int threads = atoi(argv[1]);
    size_t bytes = (size_t)atol(argv[2]) << 20;
    pages = bytes / PAGE;
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGUSR1);
    sigaddset(&signals, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &signals, NULL);
    memory = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) {
        printf("@@@ FAILED writers: mmap %s MiB: %s\n", argv[2], strerror(errno));
        return 1;
    }
    memset(memory, 0x5a, bytes);
    printf("@@@ WRITERS READY %s\n", argv[2]);
    fflush(stdout);
    /* A stop that comes before the start is kept, not lost: the writers then start and stop at once. */
    int received = 0, stopping = 0;
    while (received != SIGUSR1) {
        sigwait(&signals, &received);
        if (received == SIGUSR2) stopping = 1;
    }

    struct writer *writers = calloc((size_t)threads, sizeof *writers);
    for (int i = 0; i < threads; i++) {
        writers[i].seed = 0x9E3779B97F4A7C15u * (uint64_t)(i + 1);
        writers[i].buckets = calloc(BUCKETS, sizeof(uint32_t));
        if (!writers[i].buckets || pthread_create(&writers[i].thread, NULL, write_pages, &writers[i]) != 0) {
            printf("@@@ FAILED writers: cannot start writer %d\n", i);
            return 1;
        }
    }
    while (!stopping) {
        sigwait(&signals, &received);
        if (received == SIGUSR2) stopping = 1;
    }
    atomic_store(&stop, 1);

    uint64_t count = 0, max_ns = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(writers[i].thread, NULL);
        count += writers[i].count;
        if (writers[i].max_ns > max_ns) max_ns = writers[i].max_ns;
    }
    /* Percentiles from the merged buckets: the upper edge of the bucket holding the rank. */
    uint64_t p50 = 0, p99 = 0, seen = 0;
    uint64_t rank50 = (count + 1) / 2, rank99 = count - count / 100;
    for (uint64_t b = 0; b < BUCKETS && seen < rank99; b++) {
        for (int i = 0; i < threads; i++) seen += writers[i].buckets[b];
        if (!p50 && seen >= rank50) p50 = (b + 1) * BUCKET_NS;
        if (seen >= rank99) p99 = (b + 1) * BUCKET_NS;
    }
    if (p50 > max_ns) p50 = max_ns;
    if (p99 > max_ns) p99 = max_ns;
    printf("@@@ WRITES %llu %llu %llu %llu\n", (unsigned long long)count, (unsigned long long)p50,
           (unsigned long long)p99, (unsigned long long)max_ns);
    fflush(stdout);
    return 0;
}
