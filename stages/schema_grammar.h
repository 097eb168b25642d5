/*
 * NAME
 *	schema_grammar - compile a JSON Schema into an engine grammar
 * SUMMARY
 *	Supports the subset docket's output schemas use: "type" object, array,
 *	string, integer, number, boolean, null; "properties" (emitted in the
 *	schema's order, all of them), "required", "items", "minItems",
 *	"maxItems", "minLength", "maxLength", "enum" of strings, and the
 *	annotations "$schema", "$id", "title", "description",
 *	"additionalProperties" (extra properties are never generated). Any
 *	other keyword is refused by name, so a schema never promises a
 *	constraint the decoder does not enforce.
 * OWNERSHIP
 *	*out is a tree owned by the caller: gram_node_free().
 * THREADS
 *	Safe.
 * ERRORS
 *	DK_EFORMAT (not JSON, or not a schema), DK_EUNSUPPORTED (a keyword
 *	or type outside the subset; err names it and its JSON pointer),
 *	DK_ENOTFOUND/DK_EIO (file), DK_ENOMEM.
 */
#ifndef DK_SCHEMA_GRAMMAR_H
#define DK_SCHEMA_GRAMMAR_H

#include <stddef.h>

#include "engine/grammar.h"
#include "util/dk_err.h"

int schema_grammar_compile(const char *json, size_t len, struct gram_node **out,
			   struct dk_err *err);
int schema_grammar_load(const char *path, struct gram_node **out, struct dk_err *err);

#endif
