/* The "tight C loop" baseline of scenario (a): a blocking read/write copy
 * of 64 KiB chunks, called through ctypes from a Python thread (ctypes
 * releases the GIL for the whole call). bench/_one_pair.py compiles it at
 * run time into a temporary directory; nothing is installed. */
#include <errno.h>
#include <unistd.h>

long long bench_copy(int reader, int writer)
{
    static __thread char buf[65536];
    long long total = 0;
    for (;;) {
        ssize_t got = read(reader, buf, sizeof buf);
        if (got == 0)
            return total;
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return -(long long)errno;
        }
        ssize_t off = 0;
        while (off < got) {
            ssize_t put = write(writer, buf + off, (size_t)(got - off));
            if (put < 0) {
                if (errno == EINTR)
                    continue;
                return -(long long)errno;
            }
            off += put;
        }
        total += got;
    }
}
