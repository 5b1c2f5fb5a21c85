// The few things Swift cannot say itself: variadic system calls, ioctl request macros,
// flag macros built from other macros, and a load the optimizer must not delete.
#ifndef CLINUXMM_H
#define CLINUXMM_H

// No _GNU_SOURCE here: glibc headers parsed with other macros than Swift's Glibc module clash.
// What needs it lives in CLinuxMM.c.
#include <stdint.h>
#include <sys/types.h>
#include <sys/mman.h>
#include <linux/falloc.h>
#include <linux/magic.h>
#include <linux/memfd.h>
#include <linux/userfaultfd.h>

#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#ifndef HUGETLBFS_MAGIC
#define HUGETLBFS_MAGIC 0x958458f6
#endif

static const unsigned int clmm_mfd_cloexec = MFD_CLOEXEC;
static const unsigned int clmm_mfd_hugetlb = MFD_HUGETLB;
static const unsigned int clmm_mfd_huge_shift = MFD_HUGE_SHIFT;
static const int clmm_madv_populate_read = MADV_POPULATE_READ;
static const int clmm_madv_populate_write = MADV_POPULATE_WRITE;
static const int clmm_falloc_punch_hole = FALLOC_FL_PUNCH_HOLE;
static const int clmm_falloc_keep_size = FALLOC_FL_KEEP_SIZE;
static const long clmm_hugetlbfs_magic = HUGETLBFS_MAGIC;
static const int clmm_uffd_user_mode_only = UFFD_USER_MODE_ONLY;

/// A load the compiler keeps even when its value is unused: one read fault per page, as QEMU's
/// populate_read_range relies on.
static inline uint8_t clmm_load_volatile(const void *address) {
    return *(const volatile uint8_t *)address;
}

/// Reads one byte every `stride` bytes of [base, base + length), as QEMU's populate_read_range does.
/// In C because the loop is the measured work: a faulting load inside a Swift call across a module
/// boundary made each fault 26% dearer than this loop (docs/scale.md).
void clmm_read_every(const void *base, size_t length, size_t stride);

extern const int clmm_rusage_thread;

int clmm_memfd_create(const char *name, unsigned int flags);
int clmm_userfaultfd(int flags);
int clmm_fallocate(int fd, int mode, int64_t offset, int64_t length);
/// A path's file system magic and block size (a hugetlbfs mount's huge page size).
int clmm_statfs_info(const char *path, long *type, long *blockSize);
/// `prctl(PR_SET_PDEATHSIG, signal)`: the kernel sends `signal` to this process when the thread that
/// started it ends. prctl is variadic, which Swift cannot call.
int clmm_set_parent_death_signal(int signal);

/// Grows malloc's heap by about `bytes` and touches it, then frees it into a heap that is never
/// trimmed and serves every allocation below 32 MiB (`mallopt`, which Swift's Glibc module does not
/// import). In C because an optimizer deletes a malloc-touch-free whose result is unused.
void clmm_heap_reserve(size_t bytes);
/// Touches `bytes` of the calling thread's stack below the caller's frame.
void clmm_stack_reserve(size_t bytes);

/// One run of pages that `PAGEMAP_SCAN` reports, with the categories they share.
struct clmm_page_region {
    uint64_t start;
    uint64_t end;
    uint64_t categories;
};

static const uint64_t clmm_page_is_wpallowed = 1 << 0;
static const uint64_t clmm_page_is_written = 1 << 1;
static const uint64_t clmm_page_is_present = 1 << 3;
static const uint64_t clmm_pm_scan_wp_matching = 1 << 0;
static const uint64_t clmm_pm_scan_check_wpasync = 1 << 1;

/// `ioctl(PAGEMAP_SCAN)` (Linux 6.7) on an open `/proc/<pid>/pagemap`: fills `regions` with the runs
/// of [start, end) whose categories match; returns how many, or -1 and errno. `walkEnd` is where
/// the walk stopped (before `end` when `regions` filled up).
int clmm_pagemap_scan(int fd, uint64_t start, uint64_t end, uint64_t flags, uint64_t categoryMask,
                      uint64_t returnMask, struct clmm_page_region *regions, uint64_t regionCount,
                      uint64_t *walkEnd);

int clmm_uffdio_api(int fd, struct uffdio_api *api);
int clmm_uffdio_register(int fd, struct uffdio_register *reg);
int clmm_uffdio_unregister(int fd, struct uffdio_range *range);
int clmm_uffdio_writeprotect(int fd, struct uffdio_writeprotect *wp);

#endif
