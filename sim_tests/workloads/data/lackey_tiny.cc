// tiny test program for sim_tests/workloads/test_program.py (compiled by the test).
// A program without libc: touches 4 KiB of data, prints a line, exits with status 3.
static volatile unsigned long data[512];
static long sys(long n, long a, long b, long c) {
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return r;
}
extern "C" void _start() {
    for (int i = 0; i < 512; i++) data[i] = i;
    unsigned long sum = 0;
    for (int i = 0; i < 512; i++) sum += data[i];
    static const char msg[] = "tiny done\n";
    sys(1, 1, (long)msg, sizeof msg - 1);
    sys(60, sum == 130816 ? 3 : 4, 0, 0);
    for (;;) {}
}
