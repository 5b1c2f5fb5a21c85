#define _GNU_SOURCE
#include <fcntl.h>
#include <malloc.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>
#include "CLinuxMM.h"

const int clmm_rusage_thread = RUSAGE_THREAD;

int clmm_memfd_create(const char *name, unsigned int flags) {
    return (int)syscall(SYS_memfd_create, name, flags);
}

int clmm_userfaultfd(int flags) {
    return (int)syscall(SYS_userfaultfd, flags);
}

int clmm_fallocate(int fd, int mode, int64_t offset, int64_t length) {
    return fallocate(fd, mode, (off_t)offset, (off_t)length);
}

pid_t clmm_gettid(void) {
    return (pid_t)syscall(SYS_gettid);
}

int clmm_fstatfs_type(int fd, long *type) {
    struct statfs info;
    int result = fstatfs(fd, &info);
    if (result == 0) *type = (long)info.f_type;
    return result;
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

int clmm_uffdio_api(int fd, struct uffdio_api *api) { return ioctl(fd, UFFDIO_API, api); }
int clmm_uffdio_register(int fd, struct uffdio_register *reg) { return ioctl(fd, UFFDIO_REGISTER, reg); }
int clmm_uffdio_unregister(int fd, struct uffdio_range *range) { return ioctl(fd, UFFDIO_UNREGISTER, range); }
int clmm_uffdio_writeprotect(int fd, struct uffdio_writeprotect *wp) { return ioctl(fd, UFFDIO_WRITEPROTECT, wp); }
int clmm_uffdio_wake(int fd, struct uffdio_range *range) { return ioctl(fd, UFFDIO_WAKE, range); }

void clmm_malloc_tuning(int trimThreshold, int mmapThreshold, int topPad) {
    mallopt(M_TRIM_THRESHOLD, trimThreshold);
    mallopt(M_MMAP_THRESHOLD, mmapThreshold);
    mallopt(M_TOP_PAD, topPad);
}
