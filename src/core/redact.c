/* redact: makes untrusted text safe to keep and show — UTF-8 repair, control-character and
 * escape-sequence removal, secret redaction, the size cap (fs_sanitize_text), the same redaction
 * over JSON values (fs_redact_json), and the registered secret values. It owns the secret
 * patterns and the registry; it must never hand back bytes of a secret it recognised, never cut
 * a UTF-8 sequence or a marker at the cap, and never log or keep the text it is given. When a
 * pattern cannot finish (match limit), the rest of the text is redacted, not shown. */
#include "core/common.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/redact.h"
#include "core/regex.h"

/* Inputs longer than WINDOW(max) are only processed up to there; the rest counts as left out.
 * The slack beyond 4×max keeps any secret shorter than 64 KiB that starts before the cap whole
 * inside the processed part, so the cap never shows the start of a secret the window cut. */
#define WINDOW_SLACK (64u * 1024)
/* An OSC/DCS/SOS/PM/APC string without its terminator within this many bytes is not treated
 * as one: only its introducer is removed, and the rest is ordinary text. */
#define STRING_SEQ_MAX 4096
#define MARKER_PREFIX "[REDACTED:"
#define KIND_MAX 32
#define MARKER_MAX (sizeof(MARKER_PREFIX) - 1 + KIND_MAX + 1)
#define NOTE_FMT "\n[... %zu bytes left out]"
#define REG_MIN 8
#define REG_MAX_LEN (64u * 1024)
#define REG_MAX_COUNT 4096
#define JSON_MAX_DEPTH 2048

#define RE_MATCH_LIMIT 10000000
#define RE_DEPTH_LIMIT 10000
#define RE_HEAP_LIMIT_KIB 16384

/* ---- output buffer ---------------------------------------------------------------------- */

struct ob {
    char *p;
    size_t len, cap;
};

static int ob_reserve(struct ob *o, size_t extra)
{
    if (extra > SIZE_MAX / 2 - o->len)
        return -FS_E_NOMEM;
    size_t need = o->len + extra + 1;
    if (need <= o->cap)
        return 0;
    size_t cap = o->cap ? o->cap : 64;
    while (cap < need)
        cap *= 2;
    char *p = fs_realloc(o->p, cap);
    if (!p)
        return -FS_E_NOMEM;
    o->p = p;
    o->cap = cap;
    return 0;
}

static int ob_put(struct ob *o, const void *d, size_t n)
{
    if (ob_reserve(o, n) < 0)
        return -FS_E_NOMEM;
    memcpy(o->p + o->len, d, n);
    o->len += n;
    o->p[o->len] = '\0';
    return 0;
}

/* ---- UTF-8 repair and control removal ---------------------------------------------------- */

static const unsigned char REPLACEMENT[3] = {0xEF, 0xBF, 0xBD}; /* U+FFFD */

/* Length of the valid UTF-8 sequence at p[i] (2..4), or 0 when invalid; then *bad is the
 * length of its maximal subpart (1..3), the bytes one U+FFFD replaces. */
static size_t utf8_seq(const unsigned char *p, size_t n, size_t i, size_t *bad)
{
    unsigned char c = p[i];
    size_t need;
    unsigned char lo = 0x80, hi = 0xBF;
    *bad = 1;
    if (c < 0xC2)
        return 0; /* stray continuation byte or overlong 2-byte lead */
    else if (c < 0xE0)
        need = 1;
    else if (c < 0xF0) {
        need = 2;
        if (c == 0xE0)
            lo = 0xA0; /* overlong */
        else if (c == 0xED)
            hi = 0x9F; /* surrogates */
    } else if (c < 0xF5) {
        need = 3;
        if (c == 0xF0)
            lo = 0x90; /* overlong */
        else if (c == 0xF4)
            hi = 0x8F; /* > U+10FFFF */
    } else
        return 0;
    for (size_t k = 1; k <= need; k++) {
        if (i + k >= n)
            return 0;
        unsigned char b = p[i + k];
        if (k == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF))
            return 0;
        *bad = k + 1;
    }
    return need + 1;
}

/* After the introducer of a control string (OSC, DCS, SOS, PM, APC) at k: the index after its
 * terminator (BEL, ESC \, C1 ST; CAN and SUB abort it; another ESC starts a new sequence), n
 * when the text ends first, or SIZE_MAX when there is no end within STRING_SEQ_MAX bytes. */
static size_t skip_string(const unsigned char *p, size_t n, size_t k)
{
    size_t lim = n - k > STRING_SEQ_MAX ? k + STRING_SEQ_MAX : n;
    for (size_t j = k; j < lim; j++) {
        unsigned char c = p[j];
        if (c == 0x07 || c == 0x18 || c == 0x1A)
            return j + 1;
        if (c == 0x1B)
            return j + 1 < n && p[j + 1] == '\\' ? j + 2 : j;
        if (c == 0xC2 && j + 1 < n && p[j + 1] == 0x9C)
            return j + 2;
    }
    return lim == n ? n : SIZE_MAX;
}

/* CSI parameters, intermediates and final byte from k; returns the index after them. */
static size_t skip_csi(const unsigned char *p, size_t n, size_t k)
{
    while (k < n && p[k] >= 0x30 && p[k] <= 0x3F)
        k++;
    while (k < n && p[k] >= 0x20 && p[k] <= 0x2F)
        k++;
    if (k < n && p[k] >= 0x40 && p[k] <= 0x7E)
        k++;
    return k;
}

/* The escape sequence starting with ESC at p[i]: returns the index after it. */
static size_t skip_escape(const unsigned char *p, size_t n, size_t i)
{
    size_t j = i + 1;
    if (j >= n)
        return j;
    unsigned char b = p[j];
    if (b == '[')
        return skip_csi(p, n, j + 1);
    if (b == ']' || b == 'P' || b == 'X' || b == '^' || b == '_') {
        size_t e = skip_string(p, n, j + 1);
        return e == SIZE_MAX ? j + 1 : e;
    }
    if (b >= 0x20 && b <= 0x2F) { /* nF: intermediates, then a final byte */
        while (j < n && p[j] >= 0x20 && p[j] <= 0x2F)
            j++;
        return j < n && p[j] >= 0x30 && p[j] <= 0x7E ? j + 1 : j;
    }
    if (b == 'N' || b == 'O') /* SS2/SS3 apply to the next character (ESC O A: a cursor key) */
        return j + 1 < n && p[j + 1] >= 0x20 && p[j + 1] <= 0x7E ? j + 2 : j + 1;
    if (b >= 0x30 && b <= 0x7E)
        return j + 1;
    return j; /* ESC before anything else: the ESC alone */
}

/* Append the clean form of p[0..n) to o: valid UTF-8 only, no control characters but \n and
 * \t, \r\n and lone \r as \n, no escape sequences. Carriage returns are not counted. */
static int clean_text(const unsigned char *p, size_t n, struct ob *o, size_t *controls,
                      size_t *invalid)
{
    if (ob_reserve(o, n + n / 16 + 16) < 0)
        return -FS_E_NOMEM;
    size_t i = 0;
    while (i < n) {
        size_t run = i;
        while (run < n && p[run] >= 0x20 && p[run] < 0x7F)
            run++;
        if (run > i) {
            if (ob_put(o, p + i, run - i) < 0)
                return -FS_E_NOMEM;
            i = run;
            continue;
        }
        unsigned char c = p[i];
        if (c == '\n' || c == '\t') {
            if (ob_put(o, &c, 1) < 0)
                return -FS_E_NOMEM;
            i++;
        } else if (c == '\r') {
            if (ob_put(o, "\n", 1) < 0)
                return -FS_E_NOMEM;
            i += i + 1 < n && p[i + 1] == '\n' ? 2 : 1;
        } else if (c == 0x1B) {
            i = skip_escape(p, n, i);
            (*controls)++;
        } else if (c < 0x80) { /* other C0, DEL */
            i++;
            (*controls)++;
        } else {
            size_t bad, k = utf8_seq(p, n, i, &bad);
            if (!k) {
                if (ob_put(o, REPLACEMENT, 3) < 0)
                    return -FS_E_NOMEM;
                i += bad;
                (*invalid)++;
            } else if (c == 0xC2 && p[i + 1] < 0xA0) { /* C1: U+0080..U+009F */
                unsigned char c1 = p[i + 1];
                size_t e = i + 2;
                if (c1 == 0x9B)
                    e = skip_csi(p, n, e);
                else if (c1 == 0x90 || c1 == 0x98 || c1 == 0x9D || c1 == 0x9E || c1 == 0x9F) {
                    size_t s = skip_string(p, n, e);
                    e = s == SIZE_MAX ? e : s;
                }
                i = e;
                (*controls)++;
            } else {
                if (ob_put(o, p + i, k) < 0)
                    return -FS_E_NOMEM;
                i += k;
            }
        }
    }
    return 0;
}

/* ---- key names -------------------------------------------------------------------------- */

enum key_use { KEY_JSON, KEY_TEXT };

/* The marker kind for a key name that names a secret ("DB_Password" → "password", "X-Api-Key"
 * → "api_key"), or NULL. Case, '-', '_', '.' and spaces are ignored; the secret word must end
 * the name, so "max_tokens" and "token_type" are not secret names. KEY_TEXT also knows the
 * words found before a value in text ("--pass", "Bearer", "Basic"). *pwd is set for "pwd",
 * which is also the shell's working-directory variable. */
static const char *key_kind(const char *k, size_t n, enum key_use use, bool *pwd)
{
    char w[64];
    size_t m = 0;
    /* normalise the last letters and digits of the name */
    for (size_t i = n; i > 0 && m < sizeof(w); i--) {
        unsigned char c = (unsigned char)k[i - 1];
        if (c >= 'A' && c <= 'Z')
            w[m++] = (char)(c - 'A' + 'a');
        else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
            w[m++] = (char)c;
    }
    /* w holds the name reversed: compare suffixes from its start */
    static const struct {
        const char *suffix, *kind;
        bool text_only;
    } words[] = {
        {"authorization", "authorization", false},
        {"password", "password", false},
        {"passwd", "password", false},
        {"passphrase", "password", false},
        {"pwd", "password", false},
        {"secretkey", "secret_key", false},
        {"secret", "secret", false},
        {"accesskey", "access_key", false},
        {"privatekey", "private_key", false},
        {"apikey", "api_key", false},
        {"token", "token", false},
        {"credentials", "credentials", false},
        {"credential", "credentials", false},
        {"sessionid", "session", false},
        {"session", "session", false},
        {"cookie", "cookie", false},
        {"signature", "signature", false},
        {"pass", "password", true},
        {"bearer", "bearer_token", true},
        {"basic", "basic_auth", true},
    };
    *pwd = false;
    for (size_t i = 0; i < FS_ARRAY_LEN(words); i++) {
        if (words[i].text_only && use != KEY_TEXT)
            continue;
        size_t l = strlen(words[i].suffix);
        if (l > m)
            continue;
        bool eq = true;
        for (size_t j = 0; j < l && eq; j++)
            eq = w[j] == words[i].suffix[l - 1 - j];
        if (eq) {
            *pwd = strcmp(words[i].suffix, "pwd") == 0;
            return words[i].kind;
        }
    }
    return NULL;
}

static bool is_ident(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
}

/* The kind named by the key before a value at t[s]: skip the quotes, separators and spaces
 * between them, then read the name. */
static const char *kind_before(const char *t, size_t s, const char *dflt, bool *pwd)
{
    size_t lo = s > 96 ? s - 96 : 0, i = s;
    while (i > lo && t[i - 1] != '\0' && strchr(" \t\"'\\:=>", t[i - 1]))
        i--;
    size_t end = i;
    while (i > lo && is_ident(t[i - 1]))
        i--;
    const char *k = key_kind(t + i, end - i, KEY_TEXT, pwd);
    return k ? k : dflt;
}

/* ---- patterns --------------------------------------------------------------------------- */

/* Compiled without PCRE2_UTF (the text is valid UTF-8 by then, and every pattern is ASCII):
 * byte classes such as [^\s"'] take whole multi-byte characters, so spans start and end on
 * character boundaries. The whole match (after \K) is the secret; lookaheads keep the rest. */
#define NOT_MARKER "(?!\\[REDACTED:)"
/* a value after its opening quote */
#define V_DQ NOT_MARKER "(?=[^\"\\r\\n])[^\"\\\\\\r\\n]*+(?:\\\\.[^\"\\\\\\r\\n]*+)*+"
/* a value after an escaped quote (JSON inside a JSON string): ends at the next \" */
#define V_EDQ                                                                                      \
    NOT_MARKER                                                                                     \
    "(?!\\\\\")(?=[^\"\\r\\n])[^\"\\\\\\r\\n]*+(?:\\\\(?!\")[^\\r\\n][^\"\\\\\\r\\n]*+)*+"
#define V_SQ NOT_MARKER "[^'\\r\\n]++"
#define QUOTED "(?:\"\\K" V_DQ "|\\\\\"\\K" V_EDQ "|'\\K" V_SQ ")"
/* key=value: up to a space, quote, '&' or ';' (query strings, connection strings, logfmt) */
#define V_EQ NOT_MARKER "(?![\\s\"'\\\\])[^\\s\"'&;\\\\]++(?:\\\\(?!\")[^\\s\"'&;\\\\]*+)*+"
/* key: value: the rest of the line (YAML, headers, log lines), or up to a quote that closes
 * ('X-Api-Key: abc' http://...): one followed by a space, punctuation or the end. A quote inside
 * (it's) does not end it. Trailing blanks are trimmed by check_classify. */
#define V_LINE NOT_MARKER "(?![\\s\"'\\\\])(?:[^\\r\\n\"']++|[\"'](?![\\s,;)}\\]]|$))*+"
/* after a quoted key ("token": 123): one JSON scalar */
#define V_SCALAR NOT_MARKER "(?![\\s\"'\\\\])[^\\s,;}\\]\"'\\\\]++"
#define NOT_LITERAL "(?!(?:null|true|false|none|nil)\\b)"
#define KEYWORDS                                                                                   \
    "(?:pass(?:word|wd|phrase)|secret|token|api[_-]?key|access[_-]?key|secret[_-]?key|"            \
    "private[_-]?key|credentials?|session(?:[_-]?id)?|cookie|signature)"
/* an auth scheme before the credential; possessive, so "Bearer [REDACTED:x]" is left alone */
#define SCHEME "(?:(?:bearer|basic|token|digest|negotiate|ntlm|bot)[ \\t]+)?+"

typedef bool (*span_check)(const char *t, size_t n, size_t *s, size_t *e, const char **kind);

/* A check may narrow the span (s, e). When it refuses a match, the search resumes after the
 * whole match; so a check only refuses a span that holds no other match of its own pattern. */
static bool check_classify(const char *t, size_t n, size_t *s, size_t *e, const char **kind)
{
    while (*e > *s && (t[*e - 1] == ' ' || t[*e - 1] == '\t'))
        (*e)--;
    bool pwd;
    *kind = kind_before(t, *s, *kind, &pwd);
    return true;
}

static bool has_digit(const char *t, size_t s, size_t e)
{
    for (size_t i = s; i < e; i++)
        if (t[i] >= '0' && t[i] <= '9')
            return true;
    return false;
}

/* "Bearer <token>" outside a header: a token has a digit or is long ("Bearer authentication"
 * is prose). */
static bool check_bearer(const char *t, size_t n, size_t *s, size_t *e, const char **kind)
{
    size_t len = *e - *s;
    return len >= 8 && (has_digit(t, *s, *e) || len >= 20);
}

/* "Basic <base64>": only when it decodes to user:password. */
static bool check_basic(const char *t, size_t n, size_t *s, size_t *e, const char **kind)
{
    unsigned acc = 0, bits = 0;
    bool colon = false;
    for (size_t i = *s; i < *e && t[i] != '='; i++) {
        char c = t[i];
        unsigned v = c >= 'A' && c <= 'Z'   ? (unsigned)(c - 'A')
                     : c >= 'a' && c <= 'z' ? (unsigned)(c - 'a' + 26)
                     : c >= '0' && c <= '9' ? (unsigned)(c - '0' + 52)
                     : c == '+'             ? 62u
                                            : 63u;
        acc = (acc << 6) | v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            unsigned char b = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
            if (b < 0x20 || b == 0x7F)
                return false;
            colon |= b == ':';
        }
    }
    return colon;
}

static bool check_digit(const char *t, size_t n, size_t *s, size_t *e, const char **kind)
{
    return has_digit(t, *s, *e);
}

/* scheme://user:password@host: the match runs to the end of the authority; the password ends
 * at its last '@' (a raw '@' in a password is common enough). */
static bool check_url(const char *t, size_t n, size_t *s, size_t *e, const char **kind)
{
    for (size_t i = *e; i > *s; i--)
        if (t[i - 1] == '@') {
            *e = i - 1;
            return *e > *s;
        }
    return false;
}

struct pattern {
    const char *kind;
    const char *src;
    span_check check;
    pcre2_code *re;
};

/* In priority order: when spans overlap, they merge, and the first pattern names the kind.
 * Every pattern runs in linear time under JIT. Without JIT (no executable memory), a caseless
 * pattern with one possible first letter makes PCRE2 memchr() to the end of the text for the
 * absent case on every call; those start with a lookbehind or an alternation instead. */
static struct pattern patterns[] = {
    {"private_key", NULL, NULL, NULL}, /* find_pem */
    {"jwt", "\\beyJ[A-Za-z0-9_-]{4,}+\\.[A-Za-z0-9_-]{2,}+\\.[A-Za-z0-9_-]*+", NULL, NULL},
    {"github_token", "\\b(?:gh[pousr]_[A-Za-z0-9]{30,}+|github_pat_[A-Za-z0-9_]{22,}+)", NULL,
     NULL},
    {"gitlab_token", "\\bglpat-[A-Za-z0-9_-]{20,}+", NULL, NULL},
    {"slack_token", "\\b(?:xox[abeoprs]-[A-Za-z0-9-]{10,}+|xapp-[0-9]+-[A-Za-z0-9-]{10,}+)", NULL,
     NULL},
    {"webhook_url",
     "(?:hooks\\.slack\\.com/(?:services|workflows|triggers)/|discord(?:app)?\\.com/api/"
     "webhooks/|webhook\\.office\\.com/webhookb2/|outlook\\.office(?:365)?\\.com/webhook/|"
     "hooks\\.zapier\\.com/hooks/catch/)\\K[A-Za-z0-9_/@.%-]++",
     NULL, NULL},
    {"google_api_key", "\\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])", NULL, NULL},
    {"stripe_key", "\\b(?:[rs]k_(?:live|test)_[0-9A-Za-z]{10,}+|whsec_[0-9A-Za-z]{20,}+)", NULL,
     NULL},
    {"anthropic_key", "\\bsk-ant-[A-Za-z0-9_-]{20,}+", NULL, NULL},
    {"openai_key", "\\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}+", check_digit, NULL},
    {"aws_access_key_id", "(?<![A-Za-z0-9])A(?:KIA|SIA)[A-Z0-9]{16}(?![A-Za-z0-9])", NULL, NULL},
    {"aws_secret_key",
     "(?i)(?:aws_?)?secret_?access_?key(?:\\\\?[\"'])?[ \\t]*[:=][ \\t]*(?:\\\\?[\"'])?\\K"
     "[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])",
     NULL, NULL},
    {"url_password", "://[^\\s:/@?#\"'<>]*+:\\K" NOT_MARKER "[^\\s/?#\"'<>]++", check_url, NULL},
    {"authorization",
     "(?i)(?:proxy-)?authorization(?:\\\\?[\"'])?[ \\t]*[:=][ \\t]*(?:\"" SCHEME "\\K" V_DQ
     "|\\\\\"" SCHEME "\\K" V_EDQ "|'" SCHEME "\\K" V_SQ "|digest[ \\t]++\\K" NOT_MARKER
     "[^\\r\\n]++|" SCHEME "\\K" V_LINE ")",
     check_classify, NULL},
    {"bearer_token", "(?i)(?<=\\bbearer)[ \\t]+\\K[A-Za-z0-9._~+/-]++=*+", check_bearer, NULL},
    {"basic_auth", "(?i)(?<=\\bbasic)[ \\t]+\\K[A-Za-z0-9+/]{4,}+={0,2}+", check_basic, NULL},
    {"secret",
     "(?i)" KEYWORDS "(?:\\\\?[\"'][ \\t]*[:=][ \\t]*(?:" QUOTED "|" NOT_LITERAL "\\K" V_SCALAR
     ")|[ \\t]*(?:[:=][ \\t]*" QUOTED "|=[ \\t]*" NOT_LITERAL "\\K" V_EQ "|:[ \\t]*" NOT_LITERAL
     "\\K" V_LINE "))",
     check_classify, NULL},
    /* pwd=..., but not PWD=/home/x (the shell's working directory) */
    {"password",
     "(?i)(?<=pwd)(?:\\\\?[\"'])?[ \\t]*[:=][ \\t]*(?:\\\\?[\"'])?\\K" NOT_MARKER
     "(?![/\\s\"'\\\\])[^\\s\"'&;,\\\\]++",
     NULL, NULL},
    {"secret", "(?i)<[A-Za-z0-9_:.-]{0,40}?" KEYWORDS ">\\K" NOT_MARKER "(?![\\s<])[^<\\r\\n]++",
     check_classify, NULL},
    {"secret",
     "(?i)(?<![A-Za-z0-9_-])--?[A-Za-z0-9_-]{0,40}?(?:pass(?:word|wd|phrase)?|token|secret|"
     "api-?key|access-?key|secret-?key|private-?key|credentials?)[ \\t]++(?!-)(?:\"\\K" V_DQ
     "|'\\K" V_SQ "|\\K" NOT_MARKER "[^\\s\"']++)",
     check_classify, NULL},
};

static pthread_once_t re_once = PTHREAD_ONCE_INIT;
static pcre2_match_context *re_limits;
static bool re_ready;

static void re_init(void)
{
    if (!(re_limits = pcre2_match_context_create(NULL)))
        return;
    pcre2_set_match_limit(re_limits, RE_MATCH_LIMIT);
    pcre2_set_depth_limit(re_limits, RE_DEPTH_LIMIT);
    pcre2_set_heap_limit(re_limits, RE_HEAP_LIMIT_KIB);
    for (size_t i = 0; i < FS_ARRAY_LEN(patterns); i++) {
        if (!patterns[i].src)
            continue;
        int ec;
        PCRE2_SIZE off;
        patterns[i].re = pcre2_compile((PCRE2_SPTR)patterns[i].src, PCRE2_ZERO_TERMINATED,
                                       PCRE2_NEVER_BACKSLASH_C, &ec, &off, NULL);
        if (!patterns[i].re) {
            if (ec == PCRE2_ERROR_NOMEMORY)
                return; /* re_ready stays false: every call fails as out of memory */
            PCRE2_UCHAR msg[160];
            pcre2_get_error_message(ec, msg, sizeof(msg));
            FS_BUG("redact pattern %zu (%s) at offset %zu: %s", i, patterns[i].kind, (size_t)off,
                   (const char *)msg);
        }
        (void)pcre2_jit_compile(patterns[i].re, PCRE2_JIT_COMPLETE); /* interpreter otherwise */
    }
    re_ready = true;
}

/* ---- registered values ------------------------------------------------------------------ */

struct reg_val {
    char *v;
    size_t len;
    char kind[KIND_MAX + 1];
};

/* Immutable once published; readers hold a reference while they search. */
struct reg_set {
    size_t refs, n;
    struct reg_val *vals;
};

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static struct reg_set *reg_cur; /* NULL = none registered */

static void reg_set_unref(struct reg_set *rs)
{
    if (!rs)
        return;
    pthread_mutex_lock(&reg_mu);
    bool last = --rs->refs == 0;
    pthread_mutex_unlock(&reg_mu);
    if (!last)
        return;
    for (size_t i = 0; i < rs->n; i++)
        free(rs->vals[i].v);
    free(rs->vals);
    free(rs);
}

static struct reg_set *reg_set_ref(void)
{
    pthread_mutex_lock(&reg_mu);
    struct reg_set *rs = reg_cur;
    if (rs)
        rs->refs++;
    pthread_mutex_unlock(&reg_mu);
    return rs;
}

static bool kind_ok(const char *k)
{
    size_t n = strlen(k);
    if (n == 0 || n > KIND_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!is_ident(k[i]))
            return false;
    return true;
}

int fs_redact_register(const char *value, const char *kind)
{
    if (!kind)
        kind = "registered";
    if (!value || !kind_ok(kind))
        return -FS_E_INVALID;
    size_t len = strlen(value);
    if (len > REG_MAX_LEN)
        return -FS_E_TOO_LARGE;
    /* Kept in the form it takes in sanitized text, which is what gets searched. */
    struct ob clean = {0};
    size_t controls = 0, invalid = 0;
    if (clean_text((const unsigned char *)value, len, &clean, &controls, &invalid) < 0) {
        free(clean.p);
        return -FS_E_NOMEM;
    }
    if (clean.len < REG_MIN) {
        free(clean.p);
        return -FS_E_INVALID;
    }
    int rc = 0;
    struct reg_set *old = NULL, *ns = NULL;
    pthread_mutex_lock(&reg_mu);
    size_t n = reg_cur ? reg_cur->n : 0;
    for (size_t i = 0; i < n; i++)
        if (reg_cur->vals[i].len == clean.len &&
            memcmp(reg_cur->vals[i].v, clean.p, clean.len) == 0)
            goto out; /* already known */
    if (n >= REG_MAX_COUNT) {
        rc = -FS_E_TOO_LARGE;
        goto out;
    }
    ns = fs_calloc(1, sizeof(*ns));
    struct reg_val *vals = fs_calloc(n + 1, sizeof(*vals));
    char **copies = fs_calloc(n + 1, sizeof(*copies));
    bool ok = ns && vals && copies;
    for (size_t i = 0; ok && i < n; i++)
        ok = (copies[i] = fs_strndup(reg_cur->vals[i].v, reg_cur->vals[i].len)) != NULL;
    if (!ok) {
        for (size_t i = 0; copies && i < n; i++)
            free(copies[i]);
        free(copies);
        free(vals);
        free(ns);
        ns = NULL;
        rc = -FS_E_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        vals[i] = reg_cur->vals[i];
        vals[i].v = copies[i];
    }
    vals[n].v = clean.p;
    vals[n].len = clean.len;
    fs_strlcpy(vals[n].kind, kind, sizeof(vals[n].kind));
    clean.p = NULL;
    free(copies);
    ns->vals = vals;
    ns->n = n + 1;
    ns->refs = 1;
    old = reg_cur;
    reg_cur = ns;
out:
    pthread_mutex_unlock(&reg_mu);
    free(clean.p);
    reg_set_unref(old); /* the registry's own reference */
    return rc;
}

void fs_redact_clear_registered(void)
{
    pthread_mutex_lock(&reg_mu);
    struct reg_set *old = reg_cur;
    reg_cur = NULL;
    pthread_mutex_unlock(&reg_mu);
    reg_set_unref(old);
}

/* ---- redaction -------------------------------------------------------------------------- */

struct span {
    size_t s, e;
    int prio; /* lower wins the kind when spans start together */
    const char *kind;
};

struct spans {
    struct span *v;
    size_t n, cap;
};

static int spans_add(struct spans *sp, size_t s, size_t e, int prio, const char *kind)
{
    if (sp->n == sp->cap) {
        size_t cap = sp->cap ? sp->cap * 2 : 16;
        struct span *v = fs_realloc(sp->v, cap * sizeof(*v));
        if (!v)
            return -FS_E_NOMEM;
        sp->v = v;
        sp->cap = cap;
    }
    sp->v[sp->n++] = (struct span){s, e, prio, kind};
    return 0;
}

static int span_cmp(const void *a, const void *b)
{
    const struct span *x = a, *y = b;
    if (x->s != y->s)
        return x->s < y->s ? -1 : 1;
    if (x->prio != y->prio)
        return x->prio < y->prio ? -1 : 1;
    return x->e > y->e ? -1 : x->e < y->e;
}

static int find_pattern(const struct pattern *p, int prio, const char *t, size_t n,
                        pcre2_match_data *md, struct spans *sp)
{
    size_t start = 0;
    while (start < n) {
        int rc = pcre2_match(p->re, (PCRE2_SPTR)t, n, start, 0, md, re_limits);
        if (rc == PCRE2_ERROR_NOMATCH)
            return 0;
        if (rc < 0) /* a limit: what was not checked is not shown */
            return spans_add(sp, start, n, prio, "unchecked");
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        size_t s = ov[0], e = ov[1];
        start = e > start ? e : start + 1;
        if (e <= s)
            continue;
        const char *kind = p->kind;
        if ((p->check && !p->check(t, n, &s, &e, &kind)) || e <= s)
            continue;
        start = e; /* a narrowed span: what follows it is searched again */
        /* a span never splits a character */
        while (s > 0 && ((unsigned char)t[s] & 0xC0) == 0x80)
            s--;
        while (e < n && ((unsigned char)t[e] & 0xC0) == 0x80)
            e++;
        if (spans_add(sp, s, e, prio, kind) < 0)
            return -FS_E_NOMEM;
    }
    return 0;
}

static bool pem_label(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ' ';
}

/* PEM private key blocks, whole, from "-----BEGIN ... PRIVATE KEY-----" through the END line;
 * without an END, to the end of the text. Found with memmem rather than a pattern, so a huge
 * or hostile body costs one linear pass and never a match limit. */
static int find_pem(int prio, const char *t, size_t n, struct spans *sp)
{
    static const char begin[] = "-----BEGIN ", end[] = "-----END ";
    size_t off = 0;
    const char *h;
    while (off < n && (h = memmem(t + off, n - off, begin, sizeof(begin) - 1))) {
        size_t s = (size_t)(h - t), i = s + sizeof(begin) - 1, lab = i;
        while (i < n && i - lab < 64 && pem_label(t[i]))
            i++;
        size_t l = i - lab;
        bool key = (l >= 11 && memcmp(t + i - 11, "PRIVATE KEY", 11) == 0) ||
                   (l >= 17 && memcmp(t + i - 17, "PRIVATE KEY BLOCK", 17) == 0);
        if (!key || n - i < 5 || memcmp(t + i, "-----", 5) != 0) {
            off = s + 1;
            continue;
        }
        size_t e = n;
        const char *f = memmem(t + i + 5, n - i - 5, end, sizeof(end) - 1);
        if (f) {
            e = (size_t)(f - t) + sizeof(end) - 1;
            for (size_t k = e; k < n && k - e < 64 && pem_label(t[k]); k++)
                if (n - k > 5 && memcmp(t + k + 1, "-----", 5) == 0) {
                    e = k + 6;
                    break;
                }
        }
        if (spans_add(sp, s, e, prio, "private_key") < 0)
            return -FS_E_NOMEM;
        off = e;
    }
    return 0;
}

static int find_registered(const struct reg_set *rs, const char *t, size_t n, struct spans *sp)
{
    for (size_t i = 0; rs && i < rs->n; i++) {
        const struct reg_val *r = &rs->vals[i];
        size_t off = 0;
        const char *hit;
        while (off < n && (hit = memmem(t + off, n - off, r->v, r->len))) {
            size_t s = (size_t)(hit - t);
            if (spans_add(sp, s, s + r->len, -1, r->kind) < 0)
                return -FS_E_NOMEM;
            off = s + r->len;
        }
    }
    return 0;
}

/* Append t[0..n) to o with every secret replaced by its marker; *count += secrets replaced. */
static int redact_into(const char *t, size_t n, const struct reg_set *rs, struct ob *o,
                       size_t *count)
{
    pcre2_match_data *md = fs_re_match_data();
    if (!md)
        return -FS_E_NOMEM;
    struct spans sp = {0};
    int rc = find_registered(rs, t, n, &sp);
    for (size_t i = 0; rc == 0 && i < FS_ARRAY_LEN(patterns); i++)
        rc = patterns[i].re ? find_pattern(&patterns[i], (int)i, t, n, md, &sp)
                            : find_pem((int)i, t, n, &sp);
    if (rc < 0)
        goto out;
    if (sp.n > 1)
        qsort(sp.v, sp.n, sizeof(*sp.v), span_cmp);
    size_t pos = 0;
    for (size_t i = 0; i < sp.n;) {
        struct span cur = sp.v[i++];
        while (i < sp.n && sp.v[i].s < cur.e) { /* overlapping: one span covering both */
            if (sp.v[i].e > cur.e)
                cur.e = sp.v[i].e;
            i++;
        }
        if ((rc = ob_put(o, t + pos, cur.s - pos)) < 0 ||
            (rc = ob_put(o, MARKER_PREFIX, sizeof(MARKER_PREFIX) - 1)) < 0 ||
            (rc = ob_put(o, cur.kind, strlen(cur.kind))) < 0 || (rc = ob_put(o, "]", 1)) < 0)
            goto out;
        pos = cur.e;
        (*count)++;
    }
    rc = ob_put(o, t + pos, n - pos);
out:
    free(sp.v);
    return rc;
}

/* Where to cut t (n > max) so that at most max bytes remain: on a character boundary, and
 * before a marker rather than through it. */
static size_t cap_point(const char *t, size_t n, size_t max)
{
    size_t cut = max;
    while (cut > 0 && ((unsigned char)t[cut] & 0xC0) == 0x80)
        cut--;
    size_t lo = cut > MARKER_MAX ? cut - MARKER_MAX : 0;
    for (size_t i = cut; i > lo; i--) {
        if (t[i - 1] == ']')
            break;
        if (t[i - 1] == '[') {
            if (n - (i - 1) >= sizeof(MARKER_PREFIX) - 1 &&
                memcmp(t + i - 1, MARKER_PREFIX, sizeof(MARKER_PREFIX) - 1) == 0)
                cut = i - 1;
            break;
        }
    }
    return cut;
}

char *fs_sanitize_text(const char *in, size_t len, size_t max, struct fs_sanitize_stats *st)
{
    if (!in)
        len = 0;
    struct fs_sanitize_stats s = {.bytes_in = len};
    pthread_once(&re_once, re_init);
    if (!re_ready)
        return NULL;

    const unsigned char *p = (const unsigned char *)in;
    size_t window = len;
    if (max) {
        size_t w = max <= (SIZE_MAX - WINDOW_SLACK) / 4 ? 4 * max + WINDOW_SLACK : SIZE_MAX;
        if (len > w) {
            window = w;
            for (int k = 0; k < 3 && window > 0 && (p[window] & 0xC0) == 0x80; k++)
                window--; /* do not cut a character in two */
        }
    }

    struct ob clean = {0}, out = {0};
    struct reg_set *rs = NULL;
    if (clean_text(p, window, &clean, &s.controls, &s.invalid_utf8) < 0 ||
        ob_reserve(&clean, 0) < 0)
        goto fail;
    rs = reg_set_ref();
    int rc = redact_into(clean.p, clean.len, rs, &out, &s.secrets);
    reg_set_unref(rs);
    free(clean.p);
    clean.p = NULL;
    if (rc < 0 || ob_reserve(&out, 0) < 0)
        goto fail;

    size_t left = len - window;
    if (max && out.len > max) {
        size_t cut = cap_point(out.p, out.len, max);
        left += out.len - cut;
        out.len = cut;
        out.p[cut] = '\0';
    }
    if (left) {
        char note[64];
        int k = snprintf(note, sizeof(note), NOTE_FMT, left);
        if (ob_put(&out, note, (size_t)k) < 0)
            goto fail;
        s.truncated = true;
    }
    s.bytes_out = out.len;
    if (st)
        *st = s;
    return out.p;
fail:
    free(clean.p);
    free(out.p);
    return NULL;
}

/* ---- JSON ------------------------------------------------------------------------------- */

static bool is_marker(const char *s, size_t n)
{
    return n > sizeof(MARKER_PREFIX) && memcmp(s, MARKER_PREFIX, sizeof(MARKER_PREFIX) - 1) == 0 &&
           s[n - 1] == ']' && n <= MARKER_MAX;
}

static json_t *marker_json(const char *kind)
{
    char m[MARKER_MAX + 1];
    snprintf(m, sizeof(m), MARKER_PREFIX "%s]", kind);
    return json_string(m);
}

/* Redacted copy of s into *o (o->p NULL when nothing was found). */
static int redact_str(const char *s, size_t n, const struct reg_set *rs, struct ob *o,
                      size_t *count)
{
    size_t c = 0;
    o->len = 0;
    int rc = redact_into(s, n, rs, o, &c);
    if (rc < 0 || c == 0) {
        free(o->p);
        *o = (struct ob){0};
        return rc;
    }
    *count += c;
    return 0;
}

/* Whether the value under a secret-named key is replaced whole: strings (but "" and markers),
 * numbers, objects and arrays; null and booleans say nothing. */
static bool replace_whole(const json_t *v, bool pwd)
{
    if (json_is_string(v)) {
        size_t n = json_string_length(v);
        const char *s = json_string_value(v);
        return n > 0 && !is_marker(s, n) && !(pwd && s[0] == '/');
    }
    return json_is_number(v) || json_is_object(v) || json_is_array(v);
}

static int redact_value(json_t *v, const struct reg_set *rs, size_t *count, int depth);

/* The kind a (redacted) object key names, markers in it left out: "[REDACTED:token]" names
 * nothing, "db_[REDACTED:x]_password" names a password. Judging the redacted form keeps a
 * second pass from finding what the first did not. */
static const char *json_key_kind(const char *k, size_t n, bool *pwd)
{
    char tail[96];
    size_t m = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i + sizeof(MARKER_PREFIX) - 1;
        if (n - i > sizeof(MARKER_PREFIX) && memcmp(k + i, MARKER_PREFIX, j - i) == 0) {
            while (j < n && j - i < MARKER_MAX && is_ident(k[j]))
                j++;
            if (j < n && k[j] == ']') {
                i = j + 1;
                continue;
            }
        }
        if (m == sizeof(tail)) { /* keep the last bytes: the name ends there */
            memmove(tail, tail + sizeof(tail) / 2, sizeof(tail) / 2);
            m = sizeof(tail) / 2;
        }
        tail[m++] = k[i++];
    }
    return key_kind(tail, m, KEY_JSON, pwd);
}

static int redact_object(json_t *obj, const struct reg_set *rs, size_t *count, int depth)
{
    bool renamed = false;
    for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it)) {
        const char *k = json_object_iter_key(it);
        size_t klen = json_object_iter_key_len(it);
        json_t *v = json_object_iter_value(it);
        struct ob ko = {0};
        int rc = redact_str(k, klen, rs, &ko, count);
        if (rc < 0)
            return rc;
        renamed |= ko.p != NULL;
        bool pwd = false;
        const char *kind = ko.p ? json_key_kind(ko.p, ko.len, &pwd) : json_key_kind(k, klen, &pwd);
        free(ko.p);
        if (kind && replace_whole(v, pwd)) {
            json_t *m = marker_json(kind);
            if (!m || json_object_iter_set_new(obj, it, m) < 0)
                return -FS_E_NOMEM;
            (*count)++;
        } else if (depth >= JSON_MAX_DEPTH && (json_is_object(v) || json_is_array(v))) {
            json_t *m = marker_json("too_deep");
            if (!m || json_object_iter_set_new(obj, it, m) < 0)
                return -FS_E_NOMEM;
        } else if ((rc = redact_value(v, rs, count, depth + 1)) < 0)
            return rc;
    }
    if (!renamed)
        return 0;
    /* Rebuild in order with the redacted keys; two keys that redact alike get "#2", "#3". */
    json_t *nobj = json_object();
    if (!nobj)
        return -FS_E_NOMEM;
    int rc = 0;
    for (void *it = json_object_iter(obj); it && rc == 0; it = json_object_iter_next(obj, it)) {
        const char *k = json_object_iter_key(it);
        size_t klen = json_object_iter_key_len(it);
        size_t ignored = 0;
        struct ob o = {0};
        if ((rc = redact_str(k, klen, rs, &o, &ignored)) < 0)
            break;
        const char *nk = o.p ? o.p : k;
        size_t nlen = o.p ? o.len : klen;
        struct ob uniq = {0};
        for (int d = 2; json_object_getn(nobj, nk, nlen); d++) {
            char suffix[24];
            int sl = snprintf(suffix, sizeof(suffix), "#%d", d);
            uniq.len = 0;
            if (ob_put(&uniq, o.p ? o.p : k, o.p ? o.len : klen) < 0 ||
                ob_put(&uniq, suffix, (size_t)sl) < 0) {
                rc = -FS_E_NOMEM;
                break;
            }
            nk = uniq.p;
            nlen = uniq.len;
        }
        if (rc == 0 && json_object_setn(nobj, nk, nlen, json_object_iter_value(it)) < 0)
            rc = -FS_E_NOMEM;
        free(uniq.p);
        free(o.p);
    }
    if (rc == 0 && (json_object_clear(obj) < 0 || json_object_update(obj, nobj) < 0))
        rc = -FS_E_NOMEM;
    json_decref(nobj);
    return rc;
}

static int redact_value(json_t *v, const struct reg_set *rs, size_t *count, int depth)
{
    int rc = 0;
    if (json_is_string(v)) {
        struct ob o = {0};
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);
        if (is_marker(s, n))
            return 0;
        if ((rc = redact_str(s, n, rs, &o, count)) < 0)
            return rc;
        if (o.p && json_string_setn(v, o.p, o.len) < 0)
            rc = -FS_E_NOMEM;
        free(o.p);
    } else if (json_is_object(v)) {
        rc = redact_object(v, rs, count, depth);
    } else if (json_is_array(v)) {
        for (size_t i = 0; rc == 0 && i < json_array_size(v); i++) {
            json_t *e = json_array_get(v, i);
            if (depth >= JSON_MAX_DEPTH && (json_is_object(e) || json_is_array(e))) {
                json_t *m = marker_json("too_deep");
                if (!m || json_array_set_new(v, i, m) < 0)
                    rc = -FS_E_NOMEM;
            } else
                rc = redact_value(e, rs, count, depth + 1);
        }
    }
    return rc;
}

int fs_redact_json(json_t *v, size_t *count)
{
    size_t c = 0;
    if (count)
        *count = 0;
    if (!v)
        return -FS_E_INVALID;
    pthread_once(&re_once, re_init);
    if (!re_ready)
        return -FS_E_NOMEM;
    struct reg_set *rs = reg_set_ref();
    int rc = redact_value(v, rs, &c, 0);
    reg_set_unref(rs);
    if (count)
        *count = c;
    return rc;
}
