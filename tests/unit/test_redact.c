/* Unit tests for core/redact: every secret kind redacted (marker in, secret bytes out, the text
 * around it intact), ordinary text left alone (words, digests, UUIDs, commit hashes), control
 * characters and escape sequences removed, invalid UTF-8 repaired per maximal subpart, the cap
 * (exact boundaries, characters and markers never split, the "left out" note, the processing
 * window), statistics, 10 MB in bounded time, fs_redact_json, registered values, and sanitizing
 * on several threads while values are registered. */
#include "unit.h"

#include <pthread.h>
#include <time.h>

#include "core/fault.h"
#include "core/redact.h"

/* The longest note the cap can append. */
#define NOTE_MAX (sizeof("\n[... 18446744073709551615 bytes left out]") - 1)

static char *san_n(const char *in, size_t len, size_t max, struct fs_sanitize_stats *st)
{
    char *out = fs_sanitize_text(in, len, max, st);
    assert_non_null(out);
    return out;
}

static char *san(const char *in, size_t max, struct fs_sanitize_stats *st)
{
    return san_n(in, strlen(in), max, st);
}

static void expect_text(const char *in, size_t len, size_t max, const char *want)
{
    struct fs_sanitize_stats st;
    char *out = san_n(in, len, max, &st);
    if (strcmp(out, want) != 0)
        fail_msg("sanitize(%zu bytes, max %zu)\n  got:  \"%s\"\n  want: \"%s\"", len, max, out,
                 want);
    assert_int_equal(st.bytes_out, strlen(want));
    free(out);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- secrets ------------------------------------------------------------------------------ */

struct pos_case {
    const char *in;
    const char *secret; /* must not appear in the output */
    const char *kind;   /* "[REDACTED:<kind>]" must */
    const char *keep;   /* must appear in the output (NULL: nothing to check) */
    const char *keep2;
};

static const struct pos_case positive[] = {
    {"before\n-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7xVb9qLk\nq2Zr+/8w==\n"
     "-----END RSA PRIVATE KEY-----\nafter",
     "MIIEowIBAAKCAQEA7xVb9qLk", "private_key", "before\n", "\nafter"},
    {"key: -----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n"
     "-----END OPENSSH PRIVATE KEY----- done",
     "b3BlbnNzaC1rZXktdjEAAAAA", "private_key", "key: ", " done"},
    {"{\"private_key\": \"-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0B\\n"
     "-----END PRIVATE KEY-----\\n\", \"client_email\": \"x@y.iam\"}",
     "MIIEvQIBADANBgkqhkiG9w0B", "private_key", "\"client_email\": \"x@y.iam\"", NULL},
    {"truncated -----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBbQx3", "MHcCAQEEIBbQx3", "private_key",
     "truncated ", NULL},
    {"-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBGRk\n-----END PGP PRIVATE KEY BLOCK-----",
     "lQOYBGRk", "private_key", NULL, NULL},
    {"key AKIAIOSFODNN7EXAMPLE used", "AKIAIOSFODNN7EXAMPLE", "aws_access_key_id", "key ", " used"},
    {"temp ASIAY34FZKBOKMUTVV7A,", "ASIAY34FZKBOKMUTVV7A", "aws_access_key_id", "temp ", ","},
    {"aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\nregion = eu",
     "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "aws_secret_key",
     "aws_secret_access_key = ", "\nregion = eu"},
    {"\"SecretAccessKey\": \"je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY\",",
     "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY", "aws_secret_key", "\"SecretAccessKey\": \"",
     "\","},
    {"Authorization: Bearer abc.def-ghi_123\nHost: x", "abc.def-ghi_123", "bearer_token",
     "Authorization: Bearer ", "\nHost: x"},
    {"authorization: Basic dXNlcjpwYXNzd29yZA==\n", "dXNlcjpwYXNzd29yZA", "basic_auth",
     "authorization: Basic ", NULL},
    {"Proxy-Authorization: Digest username=\"bob\", response=\"6629fae4\"", "6629fae4",
     "authorization", "Proxy-Authorization: ", NULL},
    {"{\"Authorization\":\"Token s3cr3tv4lue\",\"a\":1}", "s3cr3tv4lue", "token",
     "{\"Authorization\":\"Token ", "\",\"a\":1}"},
    {"curl -H 'authorization: xyz123secret' http://x", "xyz123secret", "authorization", "curl -H",
     " http://x"},
    {"retrying with Bearer 8f2a9c0e1b7d4f3a now", "8f2a9c0e1b7d4f3a", "bearer_token",
     "retrying with Bearer ", " now"},
    {"got bearer Zm9vYmFyYmF6cXV4cXV1eHg after", "Zm9vYmFyYmF6cXV4cXV1eHg", "bearer_token",
     " after", NULL},
    {"decoded Basic YWRtaW46aHVudGVyMg== ok", "YWRtaW46aHVudGVyMg", "basic_auth", "decoded Basic ",
     " ok"},
    {"jwt eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
     "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U end",
     "eyJzdWIiOiIxMjM0NTY3ODkwIn0", "jwt", "jwt ", " end"},
    {"ghp_abcdefghijklmnopqrstuvwxyz0123456789 ok", "ghp_abcdefghij", "github_token", " ok", NULL},
    {"x gho_16C7e42F292c6912E7710c838347Ae178B4a y", "gho_16C7e42F292c6912E7710c838347Ae178B4a",
     "github_token", "x ", " y"},
    {"ghu_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789", "ghu_AbCdEf", "github_token", NULL, NULL},
    {"token=ghs_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789&x=1", "ghs_AbCdEf", "github_token",
     "token=", "&x=1"},
    {"(ghr_1B4a2e77838347a7E420ce178F2E7c6912E169246c34E1ccbF66C46812d16D5B1A9Dc86A1498)",
     "ghr_1B4a2e77838347a7E4", "github_token", "(", ")"},
    {"pat github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01 x",
     "github_pat_11ABCDEFG", "github_token", "pat ", " x"},
    {"glpat-xQ7rT9vW2yZ4bC6dE8fG glpat", "glpat-xQ7rT9vW2yZ4bC6dE8fG", "gitlab_token", " glpat",
     NULL},
    {"SLACK xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx.", "xoxb-123456789012",
     "slack_token", "SLACK ", "."},
    {"xoxp-12345678901-12345678901-123456789012-0123456789abcdef0123456789abcdef",
     "0123456789abcdef0123456789abcdef", "slack_token", NULL, NULL},
    {"post https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX done",
     "XXXXXXXXXXXXXXXXXXXXXXXX", "webhook_url", "post https://hooks.slack.com/services/", " done"},
    {"https://discord.com/api/webhooks/123456789012345678/AbCdEf-GhIjKl_MnOp", "AbCdEf-GhIjKl_MnOp",
     "webhook_url", "https://discord.com/api/webhooks/", NULL},
    {"maps AIzaSyA1234567890abcdefghijklmnopqrstuv key", "AIzaSyA1234567890abcdefghijklmnopqrstuv",
     "google_api_key", "maps ", " key"},
    {"stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc.", "sk_live_4eC39HqLyjWDarjtT1zdp7dc", "stripe_key",
     "stripe ", "."},
    {"rk_live_51H8a9bC7dE6fG5hI4jK3lM2n", "rk_live_51H8a9bC7dE6fG5hI4jK3lM2n", "stripe_key", NULL,
     NULL},
    {"ANTHROPIC_API_KEY is sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_aBc now",
     "sk-ant-api03-AbCdEfGhIjKlMnOp", "anthropic_key", "ANTHROPIC_API_KEY is ", " now"},
    {"openai sk-proj-abc123def456ghi789jkl012mno345pqr678 x", "sk-proj-abc123def456ghi789",
     "openai_key", "openai ", " x"},
    {"legacy sk-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCdEfGhIjKl", "sk-AbCdEfGhIjKlMnOpQr",
     "openai_key", "legacy ", NULL},
    {"dsn postgres://app:s3cr3tP%40ss@db.internal:5432/app?sslmode=require", "s3cr3tP%40ss",
     "url_password", "dsn postgres://app:", "@db.internal:5432/app?sslmode=require"},
    {"redis://:hunter2hunter2@cache:6379/0", "hunter2hunter2", "url_password",
     "redis://:", "@cache:6379/0"},
    {"amqp://guest:p@ss:w0rd@rabbit/", "p@ss:w0rd", "url_password", "amqp://guest:", "@rabbit/"},
    {"password=hunter2&user=bob", "hunter2", "password", "password=", "&user=bob"},
    {"db_password: correct horse battery staple\nnext: line", "correct horse", "password",
     "db_password: ", "\nnext: line"},
    {"x {\"password\": \"hunter2\", \"user\": \"bob\"}", "hunter2", "password", "{\"password\": \"",
     "\", \"user\": \"bob\"}"},
    {"{'passwd': 'p4ss w0rd', 'u': 1}", "p4ss w0rd", "password", "{'passwd': '", "', 'u': 1}"},
    {"PGPASSWORD=s3cret psql -h db", "s3cret", "password", "PGPASSWORD=", " psql -h db"},
    {"login pwd=abc123 ok", "abc123", "password", "login pwd=", " ok"},
    {"X-Api-Key: 9f8e7d6c5b4a\r\nAccept: */*", "9f8e7d6c5b4a", "api_key",
     "X-Api-Key: ", "\nAccept: */*"},
    {"{\"apiKey\":\"k-123-abc\"}", "k-123-abc", "api_key", "{\"apiKey\":\"", "\"}"},
    {"apikey=zzzTOPzzz;", "zzzTOPzzz", "api_key", "apikey=", ";"},
    {"access_key: AKIDEXAMPLE123", "AKIDEXAMPLE123", "access_key", "access_key: ", NULL},
    {"PRIVATE_KEY='abcdef012345'", "abcdef012345", "private_key", "PRIVATE_KEY='", "'"},
    {"client_secret=Zx9Yw8Vu7 grant=client", "Zx9Yw8Vu7", "secret",
     "client_secret=", " grant=client"},
    {"GITHUB_TOKEN=abc123 make", "abc123", "token", "GITHUB_TOKEN=", " make"},
    {"refresh_token: \"r-123-xyz\"", "r-123-xyz", "token", "refresh_token: \"", "\""},
    {"credentials: admin/admin123", "admin/admin123", "credentials", "credentials: ", NULL},
    {"session_id=6f1e2d3c4b5a; path=/", "6f1e2d3c4b5a", "session", "session_id=", "; path=/"},
    {"Cookie: sessionid=abc; csrftoken=xyz", "csrftoken=xyz", "cookie", "Cookie: ", NULL},
    {"{\\\"password\\\":\\\"in-a-string\\\",\\\"u\\\":1}", "in-a-string", "password",
     "{\\\"password\\\":\\\"", "\\\",\\\"u\\\":1}"},
    {"mysqladmin --password hunter2 status", "hunter2", "password", "mysqladmin --password ",
     " status"},
    {"openssl enc --pass 'pa ss' -in f", "pa ss", "password", "openssl enc --pass '", "' -in f"},
    {"<user>bob</user><password>hunter2</password>", "hunter2", "password",
     "<user>bob</user><password>", "</password>"},
    {"\"token\": 8675309, \"n\": 2", "8675309", "token", "\"token\": ", ", \"n\": 2"},
    {"GET /b/o?X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20240501&X-Amz-Signature=9f86d081884c7d65"
     "&X-Amz-Security-Token=FQoGZXIvYXdzE",
     "9f86d081884c7d65", "signature", "X-Amz-Signature=", "&X-Amz-Security-Token=[REDACTED:token]"},
};

static void test_secrets_redacted(void **state)
{
    for (size_t i = 0; i < FS_ARRAY_LEN(positive); i++) {
        const struct pos_case *c = &positive[i];
        struct fs_sanitize_stats st;
        char *out = san(c->in, 0, &st);
        char marker[64];
        snprintf(marker, sizeof(marker), "[REDACTED:%s]", c->kind);
        if (strstr(out, c->secret) || !strstr(out, marker) || (c->keep && !strstr(out, c->keep)) ||
            (c->keep2 && !strstr(out, c->keep2)))
            fail_msg("case %zu: \"%s\"\n  got: \"%s\"\n  want %s without \"%s\"", i, c->in, out,
                     marker, c->secret);
        assert_true(st.secrets >= 1);
        free(out);
    }
}

static void test_whole_outputs(void **state)
{
    const char *const cases[][2] = {
        {"Authorization: Bearer abc.def\n", "Authorization: Bearer [REDACTED:bearer_token]\n"},
        {"postgres://app:pw@db/x", "postgres://app:[REDACTED:url_password]@db/x"},
        {"a -----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY----- b",
         "a [REDACTED:private_key] b"},
        {"password=x token=y", "password=[REDACTED:password] token=[REDACTED:token]"},
        /* already redacted text stays as it is */
        {"password=[REDACTED:password] \"token\": \"[REDACTED:token]\"",
         "password=[REDACTED:password] \"token\": \"[REDACTED:token]\""},
        {"Authorization: Digest [REDACTED:authorization]",
         "Authorization: Digest [REDACTED:authorization]"},
        {"Authorization: Bearer [REDACTED:jwt] https://u:[REDACTED:url_password]@h",
         "Authorization: Bearer [REDACTED:jwt] https://u:[REDACTED:url_password]@h"},
        /* overlapping finds merge into one marker named by the most specific */
        {"Authorization: Bearer ghp_abcdefghijklmnopqrstuvwxyz0123456789",
         "Authorization: Bearer [REDACTED:github_token]"},
        {"https://x:ghp_abcdefghijklmnopqrstuvwxyz0123456789@github.com/o/r",
         "https://x:[REDACTED:github_token]@github.com/o/r"},
        /* the working directory is not a password */
        {"PWD=/root OLDPWD=/tmp", "PWD=/root OLDPWD=/tmp"},
        {"password: null, secret: true", "password: null, secret: true"},
    };
    for (size_t i = 0; i < FS_ARRAY_LEN(cases); i++)
        expect_text(cases[i][0], strlen(cases[i][0]), 0, cases[i][1]);
}

static void test_ordinary_text_kept(void **state)
{
    const char *const cases[] = {
        "token",
        "password reset email sent to bob@example.com",
        "token bucket refilled: 40 tokens",
        "the secret to success is sleep",
        "passwordless login enabled; session opened for user root by (uid=0)",
        "pam_unix(sshd:session): session closed for user root",
        "Enter password:",
        "password:\n  length: 12",
        "max_tokens: 4096, prompt_tokens=12, token_type: bearer",
        "password_policy=strict tokenizer=bpe secretName: db-creds",
        "kubectl get secret my-secret -n prod --secret-name foo",
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "md5 d41d8cd98f00b204e9800998ecf8427e",
        "id 123e4567-e89b-12d3-a456-426614174000",
        "commit 9fceb02d0ae598e95dc970b74767f19372d61af8 (HEAD -> main)",
        "Bearer authentication is required; use Basic authentication instead",
        "http://localhost:8080/path?q=1 and https://example.com:443/",
        "ssh://git@github.com/org/repo.git user@example.com",
        "2024-05-01T10:00:00Z disk /dev/sda1 95% full on web-1",
        "task-scheduler-worker-instance-0123456789 ask-the-team",
        "AKIA is a prefix; AKIAIOSFODNN7 is too short",
        "eyJ alone, eyJhbGci.x.y too short",
        "sk-learn, sk_test, ghp_short, xoxb-1",
        "base64 aGVsbG8gd29ybGQ= is \"hello world\"",
        "PWD=/home/bob",
        "ls -la --color=auto /etc",
    };
    for (size_t i = 0; i < FS_ARRAY_LEN(cases); i++) {
        struct fs_sanitize_stats st;
        char *out = san(cases[i], 0, &st);
        if (strcmp(out, cases[i]) != 0)
            fail_msg("ordinary text changed:\n  in:  \"%s\"\n  out: \"%s\"", cases[i], out);
        assert_int_equal(st.secrets, 0);
        free(out);
    }
}

/* ---- control characters and escape sequences ---------------------------------------------- */

static void test_controls_removed(void **state)
{
    const struct {
        const char *in;
        size_t len; /* 0: strlen */
        const char *want;
        size_t controls;
    } cases[] = {
        {"\x1b[31mred\x1b[0m plain", 0, "red plain", 2},
        {"\x1b[1;32;40mgreen\x1b[m", 0, "green", 2},
        {"\x1b[38;5;196mx\x1b[38;2;255;0;0my", 0, "xy", 2},
        {"\x1b[2J\x1b[H\x1b[10;20Hhello\x1b[?25l\x1b[K", 0, "hello", 5},
        {"up\x1b[3Adown\x1b[2Bsave\x1b"
         "7restore\x1b"
         "8",
         0, "updownsaverestore", 4},
        {"\x1b]0;my title\x07"
         "after",
         0, "after", 1},
        {"\x1b]2;title\x1b\\after", 0, "after", 1},
        {"\x1b]8;;http://evil.example/\x1b\\link\x1b]8;;\x1b\\", 0, "link", 2},
        {"\x1bPq#0;2;0;0;0#1;2;100;100;0\x1b\\ok", 0, "ok", 1}, /* DCS (sixel) */
        {"\x1b_apc\x07\x1b^pm\x07\x1bXsos\x07z", 0, "z", 3},
        {"\x1b(B\x1b)0\x1b=\x1b>text", 0, "text", 4},
        {"key\x1bOAcursor", 0, "keycursor", 1},
        {"a\0b", 3, "ab", 1},
        {"ab\bc", 0, "abc", 1},
        {"ding\a!", 0, "ding!", 1},
        {"v\x0b"
         "f\x0c"
         "e\x1f"
         "d\x7f",
         0, "vfed", 4},
        {"tab\tand\nnewline", 0, "tab\tand\nnewline", 0},
        {"a\r\nb\rc\r\r\nd", 0, "a\nb\nc\n\nd", 0},
        {"nel\xc2\x85"
         "csi\xc2\x9b"
         "31mx",
         0, "nelcsix", 2},
        {"osc\xc2\x9d"
         "0;t\xc2\x9c"
         "y",
         0, "oscy", 1},
        {"\xc2\x80\xc2\x8f\xc2\xa0", 0, "\xc2\xa0", 2}, /* C1 gone, NBSP kept */
        {"apc\xc2\x9f"
         "to the end",
         0, "apc", 1},
        {"lone esc at end\x1b", 0, "lone esc at end", 1},
        {"\x1b\x1b[31mx", 0, "x", 2},
        {"\x1b]0;unterminated title", 0, "", 1},
        {"\x1b[31", 0, "", 1},
        {"\x1b]0;t\x18rest", 0, "rest", 1}, /* CAN aborts the string */
        /* escapes cannot hide a secret from redaction */
        {"pass\x1b[0mword=hunter2", 0, "password=[REDACTED:password]", 1},
        {"gh\x1b[1mp_abcdefghijklmnopqrstuvwxyz0123456789", 0, "[REDACTED:github_token]", 1},
    };
    for (size_t i = 0; i < FS_ARRAY_LEN(cases); i++) {
        size_t len = cases[i].len ? cases[i].len : strlen(cases[i].in);
        struct fs_sanitize_stats st;
        char *out = san_n(cases[i].in, len, 0, &st);
        if (strcmp(out, cases[i].want) != 0 || st.controls != cases[i].controls)
            fail_msg("case %zu: got \"%s\" (%zu controls), want \"%s\" (%zu)", i, out, st.controls,
                     cases[i].want, cases[i].controls);
        free(out);
    }
}

static void test_unterminated_string_sequence(void **state)
{
    /* An OSC with no end in sight only loses its introducer: the text after it is kept. */
    size_t n = 10000;
    char *in = malloc(n + 1);
    assert_non_null(in);
    memcpy(in, "\x1b]0;", 4);
    memset(in + 4, 'a', n - 4);
    in[n] = '\0';
    struct fs_sanitize_stats st;
    char *out = san(in, 0, &st);
    assert_int_equal(strlen(out), n - 2);
    assert_memory_equal(out, "0;aaa", 5);
    assert_int_equal(st.controls, 1);
    free(out);
    free(in);
}

/* ---- UTF-8 -------------------------------------------------------------------------------- */

#define FFFD "\xef\xbf\xbd"

static void test_utf8_repair(void **state)
{
    const struct {
        const char *in, *want;
        size_t invalid;
    } cases[] = {
        {"h\xc3\xa9llo \xe2\x82\xac \xf0\x9d\x84\x9e", "h\xc3\xa9llo \xe2\x82\xac \xf0\x9d\x84\x9e",
         0},
        {"\xc0\xaf", FFFD FFFD, 2},                   /* overlong '/' */
        {"\xc1\xbf", FFFD FFFD, 2},                   /* overlong */
        {"\xe0\x80\xaf", FFFD FFFD FFFD, 3},          /* overlong 3-byte */
        {"\xf0\x80\x80\xaf", FFFD FFFD FFFD FFFD, 4}, /* overlong 4-byte */
        {"\xed\xa0\x80", FFFD FFFD FFFD, 3},          /* surrogate U+D800 */
        {"\xed\xbf\xbf", FFFD FFFD FFFD, 3},          /* surrogate U+DFFF */
        {"\xf4\x90\x80\x80", FFFD FFFD FFFD FFFD, 4}, /* U+110000 */
        {"\xf5\x80\x80\x80", FFFD FFFD FFFD FFFD, 4}, /* no such lead */
        {"\xff\xfe", FFFD FFFD, 2},
        {"a\x80"
         "b",
         "a" FFFD "b", 1},              /* stray continuation */
        {"\xe2\x82", FFFD, 1},          /* truncated at the end */
        {"\xf0\x9f\x98", FFFD, 1},      /* truncated 4-byte */
        {"\xf0\x9f\x98x", FFFD "x", 1}, /* maximal subpart, then x */
        {"\xe2\x82"
         "A\xe2",
         FFFD "A" FFFD, 2},
        {"\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf", 0}, /* U+10FFFF is valid */
        {"\xed\x9f\xbf", "\xed\x9f\xbf", 0},         /* U+D7FF is valid */
        {"\xef\xbf\xbe", "\xef\xbf\xbe", 0},         /* noncharacter, valid */
        {"\xc2\x41", FFFD "A", 1},
    };
    for (size_t i = 0; i < FS_ARRAY_LEN(cases); i++) {
        struct fs_sanitize_stats st;
        char *out = san(cases[i].in, 0, &st);
        if (strcmp(out, cases[i].want) != 0 || st.invalid_utf8 != cases[i].invalid)
            fail_msg("utf8 case %zu: %zu invalid, want %zu", i, st.invalid_utf8, cases[i].invalid);
        free(out);
    }
}

/* ---- the cap ------------------------------------------------------------------------------ */

static void test_cap_boundaries(void **state)
{
    expect_text("abcdef", 6, 6, "abcdef");
    expect_text("abcdef", 6, 7, "abcdef");
    expect_text("abcdef", 6, 5, "abcde\n[... 1 bytes left out]");
    expect_text("abcdef", 6, 1, "a\n[... 5 bytes left out]");
    expect_text("abcdef", 6, 0, "abcdef");
    /* "ab€": never half a character */
    expect_text("ab\xe2\x82\xac", 5, 5, "ab\xe2\x82\xac");
    expect_text("ab\xe2\x82\xac", 5, 4, "ab\n[... 3 bytes left out]");
    expect_text("ab\xe2\x82\xac", 5, 3, "ab\n[... 3 bytes left out]");
    expect_text("ab\xe2\x82\xac", 5, 2, "ab\n[... 3 bytes left out]");
    expect_text("\xf0\x9d\x84\x9e\xf0\x9d\x84\x9e", 8, 7,
                "\xf0\x9d\x84\x9e\n[... 4 bytes left out]");
    /* the cap counts the sanitized text: removed escapes do not use it */
    expect_text("\x1b[31mabc\x1b[0m", 12, 3, "abc");
    /* never half a marker: cut before it */
    const char *in = "x ghp_abcdefghijklmnopqrstuvwxyz0123456789 y";
    expect_text(in, strlen(in), 2 + 10, "x \n[... 25 bytes left out]");
    expect_text(in, strlen(in), 2 + 23, "x [REDACTED:github_token]\n[... 2 bytes left out]");
    /* a secret that the cap cuts is still redacted, never shown in part */
    in = "aaaa password=hunter2hunter2";
    struct fs_sanitize_stats st;
    char *out = san(in, 18, &st);
    assert_null(strstr(out, "hunt"));
    assert_true(st.truncated);
    free(out);
}

static void test_window_and_note(void **state)
{
    /* Longer than 4×max + 64 KiB: only that much is processed; the rest counts as left out. */
    size_t max = 100, len = 4 * max + 64 * 1024 + 1000;
    char *in = malloc(len);
    assert_non_null(in);
    memset(in, 'a', len);
    struct fs_sanitize_stats st;
    char *out = san_n(in, len, max, &st);
    char want[256];
    memset(want, 'a', max);
    snprintf(want + max, sizeof(want) - max, "\n[... %zu bytes left out]", len - max);
    assert_string_equal(out, want);
    assert_true(st.truncated);
    assert_int_equal(st.bytes_in, len);
    assert_int_equal(st.bytes_out, strlen(want));
    free(out);

    /* Everything processed was removed: the note alone says what was not looked at. */
    memset(in, 0, len);
    out = san_n(in, len, max, &st);
    snprintf(want, sizeof(want), "\n[... %zu bytes left out]", (size_t)1000);
    assert_string_equal(out, want);
    assert_int_equal(st.controls, 4 * max + 64 * 1024);
    free(out);

    /* The window never cuts a character in two. */
    for (size_t i = 0; i + 3 <= len; i += 3)
        memcpy(in + i, "\xe2\x82\xac", 3);
    out = san_n(in, len - len % 3, max, &st);
    assert_int_equal(st.invalid_utf8, 0);
    assert_true(strlen(out) <= max + NOTE_MAX);
    free(out);
    free(in);
}

static void test_stats(void **state)
{
    const char *in = "\x1b[1mok\x1b[0m \xff token=abc ghp_abcdefghijklmnopqrstuvwxyz0123456789\n";
    struct fs_sanitize_stats st;
    char *out = san(in, 0, &st);
    assert_string_equal(out, "ok " FFFD " token=[REDACTED:token] [REDACTED:github_token]\n");
    assert_int_equal(st.bytes_in, strlen(in));
    assert_int_equal(st.bytes_out, strlen(out));
    assert_false(st.truncated);
    assert_int_equal(st.controls, 2);
    assert_int_equal(st.invalid_utf8, 1);
    assert_int_equal(st.secrets, 2);
    free(out);
    /* st may be NULL; empty and NULL input give "" */
    out = fs_sanitize_text("", 0, 10, NULL);
    assert_string_equal(out, "");
    free(out);
    out = fs_sanitize_text(NULL, 0, 0, &st);
    assert_string_equal(out, "");
    assert_int_equal(st.bytes_out, 0);
    free(out);
}

/* 10 MB of log-like text with escapes, bad bytes and secrets: bounded time, bounded output. */
static void test_ten_megabytes(void **state)
{
    const char *line = "2024-05-01T10:00:00Z web-1 \x1b[32mINFO\x1b[0m GET /api 200 token=abc123 "
                       "key=AKIAIOSFODNN7EXAMPLE \xc0 user@example.com Bearer 8f2a9c0e1b7d4f3a\n";
    size_t ll = strlen(line), len = 10u << 20;
    char *in = malloc(len);
    assert_non_null(in);
    for (size_t i = 0; i < len; i += ll)
        memcpy(in + i, line, FS_MIN(ll, len - i));
    const size_t caps[] = {64 * 1024, 1 << 20, 0};
    for (size_t i = 0; i < FS_ARRAY_LEN(caps); i++) {
        struct fs_sanitize_stats st;
        double t0 = now_s();
        char *out = san_n(in, len, caps[i], &st);
        double dt = now_s() - t0;
        print_message("      10 MB, cap %zu: %.0f ms, %zu secrets, %zu bytes out\n", caps[i],
                      dt * 1e3, st.secrets, st.bytes_out);
        assert_true(dt < 30.0); /* generous: sanitizer builds are slow */
        if (caps[i])
            assert_true(st.bytes_out <= caps[i] + NOTE_MAX);
        assert_int_equal(st.bytes_out, strlen(out));
        assert_null(strstr(out, "AKIAIOSFODNN7EXAMPLE"));
        assert_null(strstr(out, "8f2a9c0e1b7d4f3a"));
        assert_null(strstr(out, "\x1b"));
        free(out);
    }
    /* hostile shapes: long values, unterminated blocks, repeated near-misses */
    const char *heads[] = {"password: ", "-----BEGIN PRIVATE KEY-----\n", "\"secret\": \"",
                           "://u:", ""};
    const char *units[] = {"abcdefghij ", "-a", "\\a", "b@", "Bearer a --password <token>"};
    for (size_t h = 0; h < FS_ARRAY_LEN(heads); h++) {
        size_t hl = strlen(heads[h]), ul = strlen(units[h]), n = hl;
        memcpy(in, heads[h], hl);
        while (n + ul <= len) {
            memcpy(in + n, units[h], ul);
            n += ul;
        }
        struct fs_sanitize_stats st;
        double t0 = now_s();
        char *out = san_n(in, n, 0, &st);
        double dt = now_s() - t0;
        print_message("      10 MB hostile #%zu, no cap: %.0f ms, %zu bytes out\n", h, dt * 1e3,
                      st.bytes_out);
        assert_true(dt < 30.0);
        free(out);
    }
    free(in);
}

/* ---- JSON --------------------------------------------------------------------------------- */

static void test_json(void **state)
{
    json_error_t jerr;
    json_t *v = json_loads(
        "{\"user\":\"bob\",\"password\":\"hunter2\",\"count\":3,"
        "\"nested\":{\"db_password\":\"x1y2z3\",\"X-Api-Key\":\"k-999\",\"pin_secret\":1234,"
        "\"list\":[{\"token\":12345},{\"msg\":\"using ghp_abcdefghijklmnopqrstuvwxyz0123456789\"},"
        "\"see https://u:pw123@h/x\"]},"
        "\"headers\":{\"Authorization\":\"Bearer abc.def\",\"Accept\":\"*/*\"},"
        "\"credentials\":{\"user\":\"a\",\"pass\":\"b\"},"
        "\"token_type\":\"bearer\",\"max_tokens\":100,\"password_hint\":\"pet name\","
        "\"secret\":null,\"session\":\"\",\"ok\":true,\"PWD\":\"/srv\","
        "\"AKIAIOSFODNN7EXAMPLE\":\"a key as a key\",\"AKIAIOSFODNN7EXAMPLF\":\"another\"}",
        0, &jerr);
    assert_non_null(v);
    size_t n = 99;
    assert_int_equal(fs_redact_json(v, &n), 0);
    char *s = json_dumps(v, JSON_COMPACT);
    const char *absent[] = {"hunter2", "x1y2z3", "k-999",   "1234",         "12345",
                            "ghp_",    "pw123",  "abc.def", "AKIAIOSFODNN7"};
    for (size_t i = 0; i < FS_ARRAY_LEN(absent); i++)
        if (strstr(s, absent[i]))
            fail_msg("\"%s\" still in %s", absent[i], s);
    const char *present[] = {
        "\"user\":\"bob\"",
        "\"password\":\"[REDACTED:password]\"",
        "\"count\":3",
        "\"db_password\":\"[REDACTED:password]\"",
        "\"X-Api-Key\":\"[REDACTED:api_key]\"",
        "\"pin_secret\":\"[REDACTED:secret]\"",
        "{\"token\":\"[REDACTED:token]\"}",
        "\"using [REDACTED:github_token]\"",
        "\"see https://u:[REDACTED:url_password]@h/x\"",
        "\"Authorization\":\"[REDACTED:authorization]\"",
        "\"Accept\":\"*/*\"",
        "\"credentials\":\"[REDACTED:credentials]\"",
        "\"token_type\":\"bearer\"",
        "\"max_tokens\":100",
        "\"password_hint\":\"pet name\"",
        "\"secret\":null",
        "\"session\":\"\"",
        "\"ok\":true",
        "\"PWD\":\"/srv\"",
        "\"[REDACTED:aws_access_key_id]\":\"a key as a key\"",
        "\"[REDACTED:aws_access_key_id]#2\":\"another\"",
    };
    for (size_t i = 0; i < FS_ARRAY_LEN(present); i++)
        if (!strstr(s, present[i]))
            fail_msg("\"%s\" not in %s", present[i], s);
    assert_int_equal(n, 11);
    /* idempotent: a second pass finds nothing new */
    assert_int_equal(fs_redact_json(v, &n), 0);
    assert_int_equal(n, 0);
    free(s);
    json_decref(v);

    /* key order is kept when a key is renamed */
    v = json_loads("{\"a\":1,\"xoxb-1234567890-abcdefghij\":2,\"z\":3}", 0, &jerr);
    assert_int_equal(fs_redact_json(v, NULL), 0);
    s = json_dumps(v, JSON_COMPACT);
    assert_string_equal(s, "{\"a\":1,\"[REDACTED:slack_token]\":2,\"z\":3}");
    free(s);
    json_decref(v);

    /* a bare string, an array, scalars */
    v = json_string("Authorization: Bearer abc.def");
    assert_int_equal(fs_redact_json(v, &n), 0);
    assert_string_equal(json_string_value(v), "Authorization: Bearer [REDACTED:bearer_token]");
    assert_int_equal(n, 1);
    json_decref(v);
    v = json_pack("[i,b,n,f]", 1, 1, 2.5);
    assert_int_equal(fs_redact_json(v, &n), 0);
    assert_int_equal(n, 0);
    json_decref(v);
    assert_int_equal(fs_redact_json(NULL, &n), -FS_E_INVALID);

    /* deeper than the limit: the deep part is replaced, not skipped */
    json_t *root = json_array(), *cur = root;
    for (int i = 0; i < 3000; i++) {
        json_t *next = json_array();
        json_array_append_new(cur, next);
        cur = next;
    }
    json_array_append_new(cur, json_string("password=deepsecret"));
    assert_int_equal(fs_redact_json(root, &n), 0);
    s = json_dumps(root, JSON_COMPACT);
    assert_non_null(s);
    assert_null(strstr(s, "deepsecret"));
    assert_non_null(strstr(s, "[REDACTED:too_deep]"));
    free(s);
    json_decref(root);
}

/* ---- registered values -------------------------------------------------------------------- */

static void test_registered(void **state)
{
    const char *text = "connecting with Xq7-Lm2-Pz9 to db; again Xq7-Lm2-Pz9.";
    assert_int_equal(fs_redact_register("Xq7-Lm2-Pz9", "db_password"), 0);
    assert_int_equal(fs_redact_register("Xq7-Lm2-Pz9", "db_password"), 0); /* duplicate */
    struct fs_sanitize_stats st;
    char *out = san(text, 0, &st);
    assert_string_equal(out, "connecting with [REDACTED:db_password] to db; again "
                             "[REDACTED:db_password].");
    assert_int_equal(st.secrets, 2);
    free(out);

    /* NULL kind: "registered"; values are copied */
    char buf[32];
    snprintf(buf, sizeof(buf), "%s", "opaque-value-42");
    assert_int_equal(fs_redact_register(buf, NULL), 0);
    memset(buf, 'z', sizeof(buf) - 1);
    out = san("x opaque-value-42 y", 0, NULL);
    assert_string_equal(out, "x [REDACTED:registered] y");
    free(out);

    /* JSON strings and keys too */
    json_t *j = json_pack("{s:s}", "opaque-value-42", "is Xq7-Lm2-Pz9");
    assert_int_equal(fs_redact_json(j, NULL), 0);
    char *s = json_dumps(j, JSON_COMPACT);
    assert_string_equal(s, "{\"[REDACTED:registered]\":\"is [REDACTED:db_password]\"}");
    free(s);
    json_decref(j);

    /* refused: short values (they would redact words), NULL, kinds that break the marker */
    assert_int_equal(fs_redact_register("short", "x"), -FS_E_INVALID);
    assert_int_equal(fs_redact_register("1234567", "x"), -FS_E_INVALID);
    assert_int_equal(fs_redact_register(NULL, "x"), -FS_E_INVALID);
    assert_int_equal(fs_redact_register("long enough value", "a]b"), -FS_E_INVALID);
    assert_int_equal(fs_redact_register("long enough value", ""), -FS_E_INVALID);
    assert_int_equal(fs_redact_register("\x1b[0m\x1b[0m\x1b[0mab", "x"), -FS_E_INVALID);
    out = san("short 1234567", 0, NULL);
    assert_string_equal(out, "short 1234567");
    free(out);

    /* clear forgets them all */
    fs_redact_clear_registered();
    out = san(text, 0, &st);
    assert_string_equal(out, text);
    assert_int_equal(st.secrets, 0);
    free(out);
    fs_redact_clear_registered(); /* twice is fine */

    /* a value with a CR LF is found in its sanitized form */
    assert_int_equal(fs_redact_register("line-one\r\nline-two", "multi"), 0);
    out = san("a line-one\nline-two b", 0, NULL);
    assert_string_equal(out, "a [REDACTED:multi] b");
    free(out);
    fs_redact_clear_registered();
}

static void test_out_of_memory(void **state)
{
    char *out = san("warm up password=x", 0, NULL); /* patterns compiled, match data made */
    free(out);
    for (int i = 1; i <= 4; i++) {
        char spec[32];
        snprintf(spec, sizeof(spec), "alloc@%dx1", i);
        assert_int_equal(fs_fault_arm(spec), 0);
        out = fs_sanitize_text("token=abc ghp_abcdefghijklmnopqrstuvwxyz0123456789", 50, 0, NULL);
        fs_fault_arm(NULL);
        /* either no answer or a fully redacted one, never the secret */
        if (out) {
            assert_null(strstr(out, "abcdefghij"));
            free(out);
        }
    }
    assert_int_equal(fs_fault_arm("alloc@1x1"), 0);
    assert_int_equal(fs_redact_register("some-long-value", "k"), -FS_E_NOMEM);
    fs_fault_arm(NULL);
}

/* ---- threads ------------------------------------------------------------------------------ */

struct worker {
    pthread_t t;
    int id;
    int failures;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    char in[512];
    for (int i = 0; i < 300; i++) {
        snprintf(in, sizeof(in),
                 "thread %d iter %d \x1b[31mred\x1b[0m token=abc%d ghp_abcdefghijklmnopqrstuvwxyz"
                 "0123456789 late-registered-value \xff",
                 w->id, i, i);
        struct fs_sanitize_stats st;
        char *out = fs_sanitize_text(in, strlen(in), 120, &st);
        if (!out || strstr(out, "ghp_") || strstr(out, "\x1b") || st.bytes_out > 120 + NOTE_MAX ||
            strlen(out) != st.bytes_out)
            w->failures++;
        free(out);
        in[strlen(in) - 1] = '\0'; /* jansson takes valid UTF-8 only */
        json_t *j = json_pack("{s:s,s:s}", "password", "x", "m", in);
        if (!j || fs_redact_json(j, NULL) < 0 ||
            strcmp(json_string_value(json_object_get(j, "password")), "[REDACTED:password]") != 0 ||
            strstr(json_string_value(json_object_get(j, "m")), "ghp_"))
            w->failures++;
        json_decref(j);
    }
    return NULL;
}

static void test_threads(void **state)
{
    struct worker w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){.id = i};
        assert_int_equal(pthread_create(&w[i].t, NULL, worker_main, &w[i]), 0);
    }
    char v[64];
    for (int i = 0; i < 50; i++) { /* registrations and clears race with the workers */
        snprintf(v, sizeof(v), "registered-value-%03d", i);
        assert_int_equal(fs_redact_register(v, "cfg"), 0);
        if (i == 25)
            fs_redact_clear_registered();
    }
    assert_int_equal(fs_redact_register("late-registered-value", "late"), 0);
    for (int i = 0; i < 4; i++) {
        pthread_join(w[i].t, NULL);
        assert_int_equal(w[i].failures, 0);
    }
    char *out = san("x late-registered-value registered-value-030 registered-value-010", 0, NULL);
    assert_string_equal(out, "x [REDACTED:late] [REDACTED:cfg] registered-value-010");
    free(out);
    fs_redact_clear_registered();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_secrets_redacted),
        cmocka_unit_test(test_whole_outputs),
        cmocka_unit_test(test_ordinary_text_kept),
        cmocka_unit_test(test_controls_removed),
        cmocka_unit_test(test_unterminated_string_sequence),
        cmocka_unit_test(test_utf8_repair),
        cmocka_unit_test(test_cap_boundaries),
        cmocka_unit_test(test_window_and_note),
        cmocka_unit_test(test_stats),
        cmocka_unit_test(test_ten_megabytes),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_registered),
        cmocka_unit_test(test_out_of_memory),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
