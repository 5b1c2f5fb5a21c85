#define _GNU_SOURCE
#include <alloca.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>
#include "CLinuxMM.h"

const int clmm_rusage_thread = RUSAGE_THREAD;

// Debian 12's headers predate PAGEMAP_SCAN (Linux 6.7); the uAPI is stable, so it is spelled out here.
#ifndef PAGEMAP_SCAN
struct page_region {
    __u64 start;
    __u64 end;
    __u64 categories;
};

struct pm_scan_arg {
    __u64 size;
    __u64 flags;
    __u64 start;
    __u64 end;
    __u64 walk_end;
    __u64 vec;
    __u64 vec_len;
    __u64 max_pages;
    __u64 category_inverted;
    __u64 category_mask;
    __u64 category_anyof_mask;
    __u64 return_mask;
};

#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)
#endif

int clmm_pagemap_scan(int fd, uint64_t start, uint64_t end, uint64_t flags, uint64_t categoryMask,
                      uint64_t returnMask, struct clmm_page_region *regions, uint64_t regionCount,
                      uint64_t *walkEnd) {
    struct pm_scan_arg arg = {
        .size = sizeof(arg),
        .flags = flags,
        .start = start,
        .end = end,
        .vec = (uint64_t)(uintptr_t)regions,
        .vec_len = regionCount,
        .category_mask = categoryMask,
        .return_mask = returnMask,
    };
    int result = ioctl(fd, PAGEMAP_SCAN, &arg);
    *walkEnd = arg.walk_end;
    return result;
}

int clmm_memfd_create(const char *name, unsigned int flags) {
    return (int)syscall(SYS_memfd_create, name, flags);
}

int clmm_userfaultfd(int flags) {
    return (int)syscall(SYS_userfaultfd, flags);
}

int clmm_fallocate(int fd, int mode, int64_t offset, int64_t length) {
    return fallocate(fd, mode, (off_t)offset, (off_t)length);
}

int clmm_statfs_info(const char *path, long *type, long *blockSize) {
    struct statfs info;
    int result = statfs(path, &info);
    if (result == 0) {
        *type = (long)info.f_type;
        *blockSize = (long)info.f_bsize;
    }
    return result;
}

int clmm_set_parent_death_signal(int signal) { return prctl(PR_SET_PDEATHSIG, (unsigned long)signal, 0, 0, 0); }

int clmm_uffdio_api(int fd, struct uffdio_api *api) { return ioctl(fd, UFFDIO_API, api); }
int clmm_uffdio_register(int fd, struct uffdio_register *reg) { return ioctl(fd, UFFDIO_REGISTER, reg); }
int clmm_uffdio_unregister(int fd, struct uffdio_range *range) { return ioctl(fd, UFFDIO_UNREGISTER, range); }
int clmm_uffdio_writeprotect(int fd, struct uffdio_writeprotect *wp) { return ioctl(fd, UFFDIO_WRITEPROTECT, wp); }

void clmm_read_every(const void *base, size_t length, size_t stride) {
    // A moving pointer, loaded before it advances: with base[offset], gcc -O2 advances the offset
    // between computing the address and the load, and that order made every fault ~20% dearer
    // here (scripts/touch-loop.c has the same form, so the two time the same instructions).
    const volatile uint8_t *end = (const volatile uint8_t *)base + length;
    for (const volatile uint8_t *page = base; page < end; page += stride) (void)*page;
}

__attribute__((noinline)) void clmm_stack_reserve(size_t bytes) {
    // A quarter of the stack's limit at most: a small `ulimit -s` must not turn into a crash.
    struct rlimit limit;
    if (getrlimit(RLIMIT_STACK, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY && bytes > limit.rlim_cur / 4) {
        bytes = limit.rlim_cur / 4;
    }
    volatile char *below = alloca(bytes);
    for (size_t offset = 0; offset < bytes; offset += 4096) below[offset] = 0;
    __asm__ volatile("" : : "r"(below) : "memory");
}

void clmm_heap_reserve(size_t bytes) {
    enum { block = 4 << 20, most = 64 };
    void *blocks[most];
    size_t count = bytes / block < most ? bytes / block : most;
    mallopt(M_TRIM_THRESHOLD, INT_MAX);
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    // Blocks below the mmap threshold come from the brk heap, so the heap itself grows.
    for (size_t i = 0; i < count; i++) {
        blocks[i] = malloc(block);
        if (blocks[i] == NULL) continue;
        // The kernel faults the block's pages in (Linux 5.14), without the user-space write of
        // every byte; before that kernel, write them.
        uintptr_t start = ((uintptr_t)blocks[i] + 4095) & ~(uintptr_t)4095;
        uintptr_t end = ((uintptr_t)blocks[i] + block) & ~(uintptr_t)4095;
        if (madvise((void *)start, end - start, MADV_POPULATE_WRITE) != 0) memset(blocks[i], 1, block);
        __asm__ volatile("" : : "r"(blocks[i]) : "memory");
    }
    for (size_t i = 0; i < count; i++) free(blocks[i]);
}
