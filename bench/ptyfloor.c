/* The tty layer's own limit: `cat FILE` on a PTY, its master read in a loop, no network.
 *
 *   cc -O2 -o /tmp/ptyfloor bench/ptyfloor.c -lutil
 *   /tmp/ptyfloor FILE [SPIN_US]
 *
 * Prints MB/s (bytes read from the master over the time from fork to end of file) and the
 * mean bytes per read(2). SPIN_US (default 0) busy-waits that many microseconds before each
 * read, as a reader that does other work between reads (a server sending what it read) does:
 * it then finds the line discipline's buffer full more often, and each of the PTY's hand-offs
 * carries more (bench/README.md, "Caveats"). Used by hand for the README's physical limit; not
 * part of `python -m bench.run`.
 */
#define _GNU_SOURCE
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE [SPIN_US]\n", argv[0]);
        return 2;
    }
    double spin = argc > 2 ? atof(argv[2]) / 1e6 : 0.0;
    double start = now();
    int fd;
    pid_t pid = forkpty(&fd, NULL, NULL, NULL);
    if (pid < 0) {
        perror("forkpty");
        return 1;
    }
    if (pid == 0) {
        execlp("cat", "cat", argv[1], (char *)NULL);
        _exit(127);
    }
    static char buf[65536];
    long long total = 0, reads = 0;
    for (;;) {
        if (spin > 0) {
            double until = now() + spin;
            while (now() < until) {
            }
        }
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0) /* EIO once cat exited and closed the slave */
            break;
        total += n;
        reads++;
    }
    double seconds = now() - start;
    waitpid(pid, NULL, 0);
    printf("%lld bytes in %lld reads: %.1f MB/s, %.0f bytes per read\n", total, reads,
           (double)total / seconds / 1e6, reads ? (double)total / (double)reads : 0.0);
    return 0;
}
