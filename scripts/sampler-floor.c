/*
 * The floor under the snapshot's sampler: what a thread that wakes every interval costs on this
 * host, with nothing of the harness around it. It sleeps to absolute deadlines on CLOCK_MONOTONIC
 * (clock_nanosleep TIMER_ABSTIME, as the sampler does) and, with `read`, reads /proc/self/status
 * once a wake with one pread (the sampler's fast reader), for SECONDS; then prints the thread's CPU
 * time (RUSAGE_THREAD) as a share of a core. Compare with a snapshot row's
 * sampler_cpu_seconds / seconds (docs/overhead.md, "The snapshot's sampler").
 *
 * Usage: sampler-floor [INTERVAL_US [SECONDS [read|sleep]]]   (defaults 1000 2 read)
 * Build: cc -O2 -o sampler-floor scripts/sampler-floor.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static double monotonic(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static double thread_cpu(void) {
    struct rusage usage;
    getrusage(RUSAGE_THREAD, &usage);
    return usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 + usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv) {
    double interval = (argc > 1 ? atof(argv[1]) : 1000) / 1e6;
    double seconds = argc > 2 ? atof(argv[2]) : 2;
    int reads = argc > 3 ? strcmp(argv[3], "sleep") != 0 : 1;
    if (interval <= 0 || seconds <= 0) {
        fprintf(stderr, "usage: sampler-floor [INTERVAL_US [SECONDS [read|sleep]]]\n");
        return 2;
    }
    int fd = open("/proc/self/status", O_RDONLY);
    if (fd < 0) { perror("open(/proc/self/status)"); return 1; }
    static char buffer[16384];
    double start = monotonic(), cpu = thread_cpu(), next = start;
    long wakes = 0;
    while (monotonic() - start < seconds) {
        if (reads && pread(fd, buffer, sizeof buffer, 0) < 0) { perror("pread(/proc/self/status)"); return 1; }
        next += interval;
        struct timespec deadline = {(time_t)next, (long)((next - (time_t)next) * 1e9)};
        int error;
        while ((error = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, NULL)) == EINTR) {}
        if (error) { fprintf(stderr, "clock_nanosleep: %s\n", strerror(error)); return 1; }
        wakes++;
    }
    double used = thread_cpu() - cpu, wall = monotonic() - start;
    printf("%s every %.0f us: %ld wakes, %.2f%% of a core, %.1f us of CPU a wake\n", reads ? "read" : "sleep",
           interval * 1e6, wakes, 100 * used / wall, 1e6 * used / wakes);
    return 0;
}
