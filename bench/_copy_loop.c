/* The C reference pumps of the benchmarks, called through ctypes (which
 * releases the GIL for the whole call). bench/_reference.py compiles this
 * file at run time into a temporary directory; nothing is installed.
 *
 * bench_copy:   the "tight C loop" thread pump of scenario (a), a blocking
 *               read/write copy of 64 KiB chunks.
 * bench_splice: the blocking splice design of the older cuprum (decision au),
 *               one blocking splice(2) loop per pair: 64 KiB per call,
 *               SPLICE_F_MOVE | SPLICE_F_MORE, retried on EINTR; a broken
 *               downstream (EPIPE) drains the source to EOF and returns
 *               what was moved. Both ends must be pipes.
 *
 * Both return the bytes moved, or -errno. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#define BENCH_CHUNK 65536

static __thread char buf[BENCH_CHUNK];

long long bench_copy(int reader, int writer)
{
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

static long long drain(int reader, long long total)
{
    for (;;) {
        ssize_t got = read(reader, buf, sizeof buf);
        if (got == 0)
            return total;
        if (got < 0 && errno != EINTR)
            return -(long long)errno;
    }
}

long long bench_splice(int reader, int writer)
{
    long long total = 0;
    for (;;) {
        ssize_t moved = splice(reader, NULL, writer, NULL, BENCH_CHUNK,
                               SPLICE_F_MOVE | SPLICE_F_MORE);
        if (moved == 0)
            return total;
        if (moved < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EPIPE)
                return drain(reader, total);
            return -(long long)errno;
        }
        total += moved;
    }
}
