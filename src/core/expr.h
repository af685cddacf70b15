/* Expressions: the small, side-effect-free language that playbooks use for conditions and
 * extracted values, and that the catalog uses for the `expect` of preconditions and
 * verification probes ("used_pct < 90", "exists && type == 'file'"). docs/expressions.md is the
 * reference.
 *
 * An expression is evaluated over one JSON object (the scope): an identifier names a member of
 * it, `a.b[0].c` walks into it, a missing member is null (never an error). Values are JSON
 * values. Evaluation is bounded (source length, nesting depth, steps), never loops, never calls
 * out, and cannot fail on data: a type mismatch yields null or false as documented, so a
 * hostile tool output can change a value but never what an expression may do.
 *
 * Grammar (lowest precedence first):
 *   expr    := or ('?' expr ':' expr)?
 *   or      := and ('||' and)*
 *   and     := cmp ('&&' cmp)*
 *   cmp     := sum (('=='|'!='|'<'|'<='|'>'|'>='|'=~'|'in') sum)?
 *   sum     := prod (('+'|'-') prod)*
 *   prod    := unary (('*'|'/'|'%') unary)*
 *   unary   := ('!'|'-') unary | postfix
 *   postfix := primary ('.' NAME | '[' expr ']')*
 *   primary := NUMBER | STRING | true | false | null | NAME | NAME '(' args ')' | '(' expr ')'
 *              | '[' (expr (',' expr)*)? ']'
 * NUMBER: decimal integer or float. STRING: '...' or "..." with \\ \' \" \n \t escapes.
 * `a =~ 're'` is a PCRE2 match (unanchored); `x in arr` / `sub in str` is membership.
 * `+` adds numbers or concatenates when either side is a string. Truthiness: null, false, 0,
 * "", [] and {} are false.
 *
 * Details (docs/expressions.md has them all, with examples): `&&` and `||` give booleans;
 * comparisons do not chain; `==` compares any JSON values, numbers by value (1 == 1.0); `<` etc.
 * order numbers with numbers and strings with strings, and are false for anything else;
 * arithmetic stays integer while both sides are and the result fits, `/` and `%` by zero are
 * null; `a[-1]` is the last element; `k in obj` tests a key; a backslash before any other
 * character in a string is kept, so '5\d\d' is the pattern 5\d\d. A string an expression builds
 * is at most 64 KiB (longer: null); each KiB of string scanned counts as a step.
 *
 * Functions (FS_EXPR_FUNCTIONS in expr.c is the table docs/expressions.md is checked against):
 *   len(x) lower(s) upper(s) trim(s) str(x) num(x) int(x) round(x[,digits]) floor(x) ceil(x)
 *   abs(x) min(a,b,...|arr) max(a,b,...|arr) sum(arr) avg(arr) count(arr)
 *   default(x, fallback) contains(s|arr, x) startswith(s, p) endswith(s, p) matches(s, re)
 *   pluck(arr, 'field') top(arr, 'field') bottom(arr, 'field') where(arr, 'field', value)
 *   grep(arr, 'field', re)  elements whose string field the PCRE2 pattern re matches
 *   at_least(arr, 'field', n)  elements whose numeric field is >= n
 *   first(arr) last(arr) join(arr, sep) split(s, sep) basename(p) dirname(p)
 *   host(instance)          "web-1:9100" -> "web-1", "[::1]:9100" -> "::1"
 *   bytes(s)                "500M", "1.5GiB", "2G" -> number of bytes (1024-based); null if bad
 *   human_bytes(n)          1610612736 -> "1.5 GiB"
 *   human_duration(secs)    439200 -> "5d 2h"
 *   pct(part, whole)        100*part/whole rounded to 1 decimal; null when whole is 0
 */
#ifndef FS_EXPR_H
#define FS_EXPR_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/err.h"

#define FS_EXPR_MAX_SOURCE 4096 /* bytes of one expression */
#define FS_EXPR_MAX_DEPTH 64    /* nesting of the parse tree */
#define FS_EXPR_MAX_STEPS 100000

struct fs_expr;

/* Compile src (NUL-terminated). Errors: -FS_E_INVALID with err->msg "column N: what is wrong"
 * (an unknown function, a bad token, unbalanced parentheses, a regex literal that does not
 * compile), -FS_E_TOO_LARGE, -FS_E_NOMEM. */
int fs_expr_compile(const char *src, struct fs_expr **out, struct fs_err *err);
void fs_expr_free(struct fs_expr *e);
/* The source text it was compiled from. */
const char *fs_expr_source(const struct fs_expr *e);

/* Evaluate over scope (an object; NULL = {}). *out is a new reference (json_null() for null).
 * Errors only for out of memory or the step limit (-FS_E_TOO_LARGE). Thread-safe: a compiled
 * expression may be evaluated by several threads at once. */
int fs_expr_eval(const struct fs_expr *e, const json_t *scope, json_t **out, struct fs_err *err);
/* Evaluate and apply truthiness. */
int fs_expr_test(const struct fs_expr *e, const json_t *scope, bool *out, struct fs_err *err);
bool fs_expr_truthy(const json_t *v);

/* Compile-and-evaluate convenience for one-off uses (catalog probes). */
int fs_expr_eval_str(const char *src, const json_t *scope, json_t **out, struct fs_err *err);

/* Templates: text with {expr} holes ("{{" and "}}" are literal braces). A template that is
 * exactly one hole ("{usage.used_pct}") keeps the value's JSON type; otherwise every hole is
 * rendered as text (strings as is, numbers in shortest form, null as "", others as compact
 * JSON) and the result is a string.
 *
 * Compile a template: checks every hole. Same errors as fs_expr_compile, column counted in
 * the template. */
struct fs_template;
int fs_template_compile(const char *src, struct fs_template **out, struct fs_err *err);
void fs_template_free(struct fs_template *t);
int fs_template_render(const struct fs_template *t, const json_t *scope, json_t **out,
                       struct fs_err *err);
/* Render a JSON value recursively: every string in it is a template (compiled on the fly).
 * Used for tool arguments and proposal params in playbooks. */
int fs_template_render_json(const json_t *v, const json_t *scope, json_t **out,
                            struct fs_err *err);
/* Check every string in a JSON value compiles as a template (playbook load time). err->path
 * gets the JSON path of the first bad string. */
int fs_template_check_json(const json_t *v, struct fs_err *err);

/* docs/expressions.md: the grammar and the function table. */
int fs_expr_doc_markdown(struct fs_buf *b);

#endif
