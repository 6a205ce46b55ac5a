/* A minimal test harness: each test binary is a list of test functions; CHECK records a failure
 * and continues, the binary's exit code is the verdict, and the last line is "N passed, N failed". */
#ifndef TL_TESTS_CHECK_H
#define TL_TESTS_CHECK_H
#include <math.h>
#include <stdio.h>

static int check_failures_ = 0, tests_passed_ = 0, tests_failed_ = 0;

#define CHECK(cond) do { if (!(cond)) { check_failures_++; \
    fprintf(stderr, "  %s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); } } while (0)
#define CHECK_MSG(cond, ...) do { if (!(cond)) { check_failures_++; \
    fprintf(stderr, "  %s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond); \
    fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)
/* |a - b| <= tol * max(1, |a|, |b|) */
#define CHECK_CLOSE(a, b, tol) do { double a_ = (a), b_ = (b), m_ = fmax(1.0, fmax(fabs(a_), fabs(b_))); \
    if (!(fabs(a_ - b_) <= (tol) * m_)) { check_failures_++; \
    fprintf(stderr, "  %s:%d: %s = %.9g vs %s = %.9g (tol %g)\n", __FILE__, __LINE__, #a, a_, #b, b_, (double)(tol)); } } while (0)

#define RUN_TEST(fn) do { int before_ = check_failures_; fn(); \
    if (check_failures_ == before_) { tests_passed_++; printf("ok   %s\n", #fn); } \
    else { tests_failed_++; printf("FAIL %s\n", #fn); } fflush(stdout); } while (0)

#define TEST_MAIN_END() do { printf("%d passed, %d failed\n", tests_passed_, tests_failed_); \
    return tests_failed_ ? 1 : 0; } while (0)

#endif
