/* A JSON Schema subset for tool inputs: what forestall's built-in tools declare and what a
 * remote MCP tool's inputSchema may use. A schema is compiled once (every keyword checked, every
 * pattern compiled) and then validates any number of values; a keyword outside the subset makes
 * compilation fail, so a schema is never silently half-checked.
 *
 * The subset (draft 2020-12 meanings):
 *   type              "object" | "string" | "integer" | "number" | "boolean" | "array" | "null"
 *                     (one name; a list of names is refused)
 *   properties, required, additionalProperties (a boolean)      — objects
 *   items (one schema), minItems, maxItems, uniqueItems          — arrays
 *   minLength, maxLength (code points), pattern (anchored ^...$) — strings
 *   minimum, maximum, exclusiveMinimum, exclusiveMaximum (numbers) — numbers and integers
 *   enum (a non-empty array of scalars), const (a scalar)
 *   annotations, accepted and ignored: title, description, default, examples, $schema,
 *   $comment, deprecated, readOnly, writeOnly
 * Everything else ($ref, oneOf, anyOf, allOf, not, if/then/else, format, patternProperties,
 * dependentRequired, prefixItems, ...) is refused with the path of the keyword. */
#ifndef FS_TOOLS_SCHEMA_H
#define FS_TOOLS_SCHEMA_H

#include <jansson.h>

#include "core/err.h"

/* Schemas deeper than this are refused (a tool input is a shallow object). */
#define FS_SCHEMA_MAX_DEPTH 8

struct fs_schema;

/* Compile schema. On failure returns -FS_E_INVALID with err->path naming the keyword
 * ("properties.path.pattern") and a message saying what is wrong; *out is NULL. The compiled
 * schema does not keep a reference to the JSON. Thread-safe to use once compiled. */
int fs_schema_compile(const json_t *schema, struct fs_schema **out, struct fs_err *err);
void fs_schema_free(struct fs_schema *s);

/* Check v against s. Returns 0, or -FS_E_INVALID_PAYLOAD with err->path the path of the
 * offending value below base ("limit", "paths[2]"; base may be NULL or "") and err->msg
 * "<path>: <what is wrong>". */
int fs_schema_validate(const struct fs_schema *s, const json_t *v, const char *base,
                       struct fs_err *err);

/* The top-level "type" of a compiled schema ("object", ...), or NULL when it has none. */
const char *fs_schema_type(const struct fs_schema *s);

#endif
