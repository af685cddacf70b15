/* Unit tests for context/forecast.c: least-squares fits on exact, noisy, falling and flat
 * series at Unix-seconds magnitudes, threshold crossing in both directions (already past,
 * moving away, not enough data), NaN/Inf samples left out, and the sentences. */
#include "unit.h"

#include <math.h>

#include "context/forecast.h"

#define T0 1722506400.0 /* 2024-08-01T10:00:00Z */
#define GIB (1024.0 * 1024 * 1024)

static void linear(struct fs_fc_sample *s, size_t n, double step, double v0, double slope)
{
    for (size_t i = 0; i < n; i++) {
        s[i].t = T0 + (double)i * step;
        s[i].v = v0 + slope * (double)i * step;
    }
}

static void test_exact_linear(void **state)
{
    struct fs_fc_sample s[100];
    linear(s, 100, 60, 50, 0.001); /* +86.4 per day */
    struct fs_fc_fit f;
    assert_int_equal(fs_fc_fit(s, 100, &f), 0);
    assert_int_equal(f.n, 100);
    assert_int_equal(f.skipped, 0);
    assert_true(fabs(f.slope - 0.001) < 1e-12);
    assert_true(fabs(f.r2 - 1.0) < 1e-12);
    assert_true(f.t_last == T0 + 99 * 60);
    assert_true(fabs(f.last - (50 + 0.001 * 99 * 60)) < 1e-9);
    double now = f.t_last;
    assert_true(fabs(fs_fc_predict(&f, now) - f.last) < 1e-9);
    /* 55.94 now; 95 is 39.06 away at 0.001/s: 39060 s */
    struct fs_fc_eta e;
    assert_int_equal(fs_fc_eta(&f, 95, FS_FC_AUTO, now, 0, &e), 0);
    assert_int_equal(e.state, FS_FC_CROSSES);
    assert_true(e.rising);
    assert_true(fabs(e.seconds - 39060) < 1e-6);
    assert_true(isnan(e.at_horizon));
    /* seen from a later "now", the line is further along */
    assert_int_equal(fs_fc_eta(&f, 95, FS_FC_RISING, now + 60, 86400, &e), 0);
    assert_true(fabs(e.seconds - 39000) < 1e-6);
    assert_true(fabs(e.at_horizon - (f.last + 0.001 * (60 + 86400))) < 1e-6);
}

/* the sentence the playbooks quote */
static void test_sentence(void **state)
{
    /* 80% now, +3% per day: 95% is 5 days away; at 2.95.../day it is 5d 2h */
    double per_s = 15.0 / (5 * 86400 + 2 * 3600);
    struct fs_fc_sample s[50];
    linear(s, 50, 300, 80 - per_s * 49 * 300, per_s);
    struct fs_fc_fit f;
    assert_int_equal(fs_fc_fit(s, 50, &f), 0);
    struct fs_fc_eta e;
    fs_fc_eta(&f, 95, FS_FC_RISING, f.t_last, 0, &e);
    char buf[256];
    fs_fc_summary(&f, &e, 95, FS_FC_UNIT_PERCENT, 0, buf, sizeof(buf));
    assert_string_equal(buf, "95% in ~5d 2h (at +2.95%/day, r²=1.00)");
    fs_fc_eta(&f, 95, FS_FC_RISING, f.t_last, 86400, &e);
    fs_fc_summary(&f, &e, 95, FS_FC_UNIT_PERCENT, 86400, buf, sizeof(buf));
    assert_string_equal(buf, "95% in ~5d 2h (at +2.95%/day, r²=1.00); 83% expected in 1d");
    /* a short buffer is cut, never overrun */
    char small[12];
    fs_fc_summary(&f, &e, 95, FS_FC_UNIT_PERCENT, 0, small, sizeof(small));
    assert_int_equal(strlen(small), sizeof(small) - 1);
}

/* Deterministic noise in [-1, 1]. */
static double noise(unsigned *x)
{
    *x = *x * 1103515245u + 12345u;
    return ((double)((*x >> 8) & 0xFFFF) / 32767.5) - 1.0;
}

static void test_noisy(void **state)
{
    struct fs_fc_sample s[240];
    unsigned seed = 42;
    for (size_t i = 0; i < 240; i++) {
        s[i].t = T0 + (double)i * 15;
        s[i].v = 60 + 0.002 * (double)i * 15 + 0.5 * noise(&seed);
    }
    struct fs_fc_fit f;
    assert_int_equal(fs_fc_fit(s, 240, &f), 0);
    assert_true(fabs(f.slope - 0.002) / 0.002 < 0.05);
    assert_true(f.r2 > 0.9 && f.r2 < 1.0);
    struct fs_fc_eta e;
    fs_fc_eta(&f, 95, FS_FC_RISING, f.t_last, 0, &e);
    assert_int_equal(e.state, FS_FC_CROSSES);
    /* about (95 - 67.2) / 0.002 = 13900 s from the fitted value */
    assert_true(e.seconds > 12500 && e.seconds < 15500);

    /* mostly noise: a weak trend, and the sentence says so */
    seed = 7;
    for (size_t i = 0; i < 240; i++) {
        s[i].t = T0 + (double)i * 15;
        s[i].v = 60 + 0.00005 * (double)i * 15 + 2 * noise(&seed);
    }
    assert_int_equal(fs_fc_fit(s, 240, &f), 0);
    assert_true(f.r2 < 0.5);
    fs_fc_eta(&f, 95, FS_FC_RISING, f.t_last, 0, &e);
    char buf[256];
    fs_fc_summary(&f, &e, 95, FS_FC_UNIT_NONE, 0, buf, sizeof(buf));
    assert_non_null(strstr(buf, "weak trend"));
}

/* free bytes falling 1 GiB a day from 100 GiB, threshold 5 GiB */
static void test_falling_bytes(void **state)
{
    struct fs_fc_sample s[48];
    linear(s, 48, 1800, 100 * GIB, -GIB / 86400);
    struct fs_fc_fit f;
    assert_int_equal(fs_fc_fit(s, 48, &f), 0);
    assert_true(fabs(f.slope * 86400 + GIB) < 1);
    struct fs_fc_eta e;
    assert_int_equal(fs_fc_eta(&f, 5 * GIB, FS_FC_AUTO, f.t_last, 0, &e), 0);
    assert_false(e.rising);
    assert_int_equal(e.state, FS_FC_CROSSES);
    double want = (f.last - 5 * GIB) / (GIB / 86400);
    assert_true(fabs(e.seconds - want) < 1e-3);
    char buf[256];
    fs_fc_summary(&f, &e, 5 * GIB, FS_FC_UNIT_BYTES, 0, buf, sizeof(buf));
    assert_string_equal(buf, "5.0 GiB in ~94d (at -1.0 GiB/day, r²=1.00)");
    /* the same series judged as rising usage moves away */
    fs_fc_eta(&f, 200 * GIB, FS_FC_RISING, f.t_last, 0, &e);
    assert_int_equal(e.state, FS_FC_AWAY);
    assert_true(isnan(e.seconds));
    fs_fc_summary(&f, &e, 200 * GIB, FS_FC_UNIT_BYTES, 0, buf, sizeof(buf));
    assert_non_null(strstr(buf, "not reaching 200 GiB: moving away (at -1.0 GiB/day"));
}

static void test_flat(void **state)
{
    struct fs_fc_sample s[30];
    linear(s, 30, 10, 42, 0);
    struct fs_fc_fit f;
    assert_int_equal(fs_fc_fit(s, 30, &f), 0);
    assert_true(f.slope == 0);
    assert_true(f.r2 == 1.0);
    struct fs_fc_eta e;
    fs_fc_eta(&f, 95, FS_FC_AUTO, f.t_last, 3600, &e);
    assert_int_equal(e.state, FS_FC_FLAT);
    assert_true(isnan(e.seconds));
    assert_true(e.at_horizon == 42);
    char buf[128];
    fs_fc_summary(&f, &e, 95, FS_FC_UNIT_PERCENT, 0, buf, sizeof(buf));
    assert_string_equal(buf, "not reaching 95%: flat at 42%");
    /* flat exactly at the threshold is already there */
    fs_fc_eta(&f, 42, FS_FC_AUTO, f.t_last, 0, &e);
    assert_int_equal(e.state, FS_FC_PAST);
}

static void test_already_past(void **state)
{
    struct fs_fc_sample s[10];
    linear(s, 10, 60, 90, 0.01); /* 95.4 at the end */
    struct fs_fc_fit f;
    assert_int_equal(fs_fc_fit(s, 10, &f), 0);
    struct fs_fc_eta e;
    fs_fc_eta(&f, 95, FS_FC_RISING, f.t_last, 0, &e);
    assert_int_equal(e.state, FS_FC_PAST);
    assert_true(e.seconds == 0);
    char buf[128];
    fs_fc_summary(&f, &e, 95, FS_FC_UNIT_PERCENT, 0, buf, sizeof(buf));
    assert_string_equal(buf, "already past 95% (now 95.4%)");
    /* auto: above the threshold means reaching it going down, which this series does not */
    fs_fc_eta(&f, 95, FS_FC_AUTO, f.t_last, 0, &e);
    assert_false(e.rising);
    assert_int_equal(e.state, FS_FC_AWAY);
    /* falling free space already under its floor */
    linear(s, 10, 60, 4 * GIB, -1000);
    fs_fc_fit(s, 10, &f);
    fs_fc_eta(&f, 5 * GIB, FS_FC_FALLING, f.t_last, 0, &e);
    assert_int_equal(e.state, FS_FC_PAST);
    /* the line is past but the latest observation is not: crossing "now", 0 s */
    struct fs_fc_sample z[] = {{T0, 0}, {T0 + 10, 100}, {T0 + 20, 89}};
    fs_fc_fit(z, 3, &f);
    fs_fc_eta(&f, 90, FS_FC_RISING, T0 + 20, 0, &e);
    assert_int_equal(e.state, FS_FC_CROSSES);
    assert_true(e.seconds == 0);
}

static void test_too_few_and_nonfinite(void **state)
{
    struct fs_fc_fit f;
    struct fs_fc_eta e;
    assert_int_equal(fs_fc_fit(NULL, 0, &f), -FS_E_INVALID);
    assert_int_equal(f.n, 0);
    assert_true(isnan(f.last));
    fs_fc_eta(&f, 95, FS_FC_AUTO, T0, 3600, &e);
    assert_int_equal(e.state, FS_FC_NODATA);
    assert_true(isnan(e.seconds) && isnan(e.at_horizon));

    struct fs_fc_sample one[] = {{T0, 50}, {T0 + 10, NAN}, {T0 + 20, INFINITY}};
    assert_int_equal(fs_fc_fit(one, 3, &f), -FS_E_INVALID);
    assert_int_equal(f.n, 1);
    assert_int_equal(f.skipped, 2);
    assert_true(f.last == 50);
    fs_fc_eta(&f, 95, FS_FC_RISING, T0, 0, &e);
    assert_int_equal(e.state, FS_FC_NODATA);
    char buf[128];
    fs_fc_summary(&f, &e, 95, FS_FC_UNIT_NONE, 0, buf, sizeof(buf));
    assert_string_equal(buf, "not enough data (1 usable sample, others NaN or infinite)");
    fs_fc_eta(&f, 40, FS_FC_RISING, T0, 0, &e); /* one sample is enough to be past */
    assert_int_equal(e.state, FS_FC_PAST);

    /* two samples at the same time make no line */
    struct fs_fc_sample same[] = {{T0, 1}, {T0, 2}};
    assert_int_equal(fs_fc_fit(same, 2, &f), -FS_E_INVALID);

    /* NaN and ±Inf in the middle are left out, the rest fits exactly */
    struct fs_fc_sample s[12];
    linear(s, 12, 60, 10, 0.5);
    s[3].v = NAN;
    s[7].v = -INFINITY;
    s[9].t = NAN;
    assert_int_equal(fs_fc_fit(s, 12, &f), 0);
    assert_int_equal(f.n, 9);
    assert_int_equal(f.skipped, 3);
    assert_true(fabs(f.slope - 0.5) < 1e-12 && fabs(f.r2 - 1) < 1e-12);
    /* samples in any order */
    struct fs_fc_sample r[] = {{T0 + 20, 3}, {T0, 1}, {T0 + 10, 2}};
    assert_int_equal(fs_fc_fit(r, 3, &f), 0);
    assert_true(f.last == 3 && f.t_last == T0 + 20);
    assert_true(fabs(f.slope - 0.1) < 1e-12);
    /* bad threshold */
    assert_int_equal(fs_fc_eta(&f, NAN, FS_FC_AUTO, T0, 0, &e), -FS_E_INVALID);
    assert_int_equal(fs_fc_eta(&f, 1, FS_FC_AUTO, INFINITY, 0, &e), -FS_E_INVALID);
}

static void test_formatting(void **state)
{
    char b[64];
    assert_string_equal(fs_fc_format_duration(0.2, b, sizeof(b)), "<1s");
    assert_string_equal(fs_fc_format_duration(42, b, sizeof(b)), "42s");
    assert_string_equal(fs_fc_format_duration(180, b, sizeof(b)), "3m");
    assert_string_equal(fs_fc_format_duration(245, b, sizeof(b)), "4m 5s");
    assert_string_equal(fs_fc_format_duration(3 * 3600 + 600, b, sizeof(b)), "3h 10m");
    assert_string_equal(fs_fc_format_duration(5 * 86400 + 2 * 3600 + 59, b, sizeof(b)), "5d 2h");
    assert_string_equal(fs_fc_format_duration(1e12, b, sizeof(b)), "more than 30 years");
    assert_string_equal(fs_fc_format_duration(HUGE_VAL, b, sizeof(b)), "more than 30 years");
    assert_string_equal(fs_fc_format_value(95, FS_FC_UNIT_PERCENT, b, sizeof(b)), "95%");
    assert_string_equal(fs_fc_format_value(96.24, FS_FC_UNIT_PERCENT, b, sizeof(b)), "96.2%");
    assert_string_equal(fs_fc_format_value(1.4 * GIB, FS_FC_UNIT_BYTES, b, sizeof(b)), "1.4 GiB");
    assert_string_equal(fs_fc_format_value(512, FS_FC_UNIT_BYTES, b, sizeof(b)), "512 B");
    assert_string_equal(fs_fc_format_value(-300 * GIB, FS_FC_UNIT_BYTES, b, sizeof(b)), "-300 GiB");
    assert_string_equal(fs_fc_format_value(86400, FS_FC_UNIT_NONE, b, sizeof(b)), "86400");
    assert_string_equal(fs_fc_format_value(0.25, FS_FC_UNIT_NONE, b, sizeof(b)), "0.25");
    assert_string_equal(fs_fc_format_value(NAN, FS_FC_UNIT_NONE, b, sizeof(b)), "NaN");
    assert_string_equal(fs_fc_format_value(-INFINITY, FS_FC_UNIT_BYTES, b, sizeof(b)), "-Inf");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_linear),
        cmocka_unit_test(test_sentence),
        cmocka_unit_test(test_noisy),
        cmocka_unit_test(test_falling_bytes),
        cmocka_unit_test(test_flat),
        cmocka_unit_test(test_already_past),
        cmocka_unit_test(test_too_few_and_nonfinite),
        cmocka_unit_test(test_formatting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
