/*
 * NAME
 *	schema_grammar - JSON Schema subset to gram_node tree
 * DESIGN NOTES
 *	1. Errors carry a JSON pointer ("/properties/entities/items") so an
 *	   operator editing a schema finds the offending place.
 *	2. Depth is capped at GRAM_MAX_DEPTH - 1 while compiling, so the
 *	   matcher's fixed stack can never overflow at decode time.
 *	3. No dead ends: a schema no value can satisfy (minItems > maxItems,
 *	   minLength > maxLength, an empty enum) is refused here, because at
 *	   decode time it would leave the sampler no token to choose.
 */
#include <stdio.h>
#include <string.h>
#include <json-glib/json-glib.h>

#include "stages/schema_grammar.h"

static const char *const annotations[] = {
	"$schema", "$id", "title", "description", "additionalProperties", "required",
	"type", "properties", "items", "minItems", "maxItems", "minLength", "maxLength", "enum",
};

static int compile_node(JsonNode *jn, const char *ptr, int depth, struct gram_node **out,
			struct dk_err *err);

static int check_keywords(JsonObject *o, const char *ptr, struct dk_err *err)
{
	GList *members = json_object_get_members(o);
	int rc = 0;

	for (GList *m = members; m && rc == 0; m = m->next) {
		size_t i;

		for (i = 0; i < G_N_ELEMENTS(annotations); i++)
			if (strcmp(m->data, annotations[i]) == 0)
				break;
		if (i == G_N_ELEMENTS(annotations))
			rc = dk_err_set(err, DK_EUNSUPPORTED,
					"unsupported JSON Schema keyword '%s' at '%s'",
					(const char *)m->data, *ptr ? ptr : "/");
	}
	g_list_free(members);
	return rc;
}

static int int_member(JsonObject *o, const char *name, int def, int *out)
{
	JsonNode *n = json_object_get_member(o, name);

	if (n == NULL) {
		*out = def;
		return 0;
	}
	if (json_node_get_value_type(n) != G_TYPE_INT64 || json_node_get_int(n) < 0 ||
	    json_node_get_int(n) > 1000000)
		return -1;
	*out = (int)json_node_get_int(n);
	return 0;
}

static int compile_enum(JsonArray *a, const char *ptr, struct gram_node **out, struct dk_err *err)
{
	struct gram_node *n = gram_node_new(GRAM_ENUM);

	if (n == NULL)
		return dk_err_set(err, DK_ENOMEM, "out of memory");
	if (json_array_get_length(a) == 0) {
		gram_node_free(n);
		return dk_err_set(err, DK_EFORMAT, "enum at '%s' is empty: no value is valid", ptr);
	}
	for (guint i = 0; i < json_array_get_length(a); i++) {
		JsonNode *v = json_array_get_element(a, i);

		if (json_node_get_value_type(v) != G_TYPE_STRING ||
		    gram_add_value(n, json_node_get_string(v)) != 0) {
			gram_node_free(n);
			return dk_err_set(err, DK_EUNSUPPORTED,
					  "enum at '%s': only up to %d plain strings are supported",
					  ptr, GRAM_MAX_ENUM);
		}
	}
	*out = n;
	return 0;
}

static int compile_object(JsonObject *o, const char *ptr, int depth, struct gram_node *n,
			  struct dk_err *err)
{
	JsonObject *props = json_object_has_member(o, "properties") ?
		json_object_get_object_member(o, "properties") : NULL;
	GList *names = props ? json_object_get_members(props) : NULL;
	int rc = 0;

	for (GList *m = names; m && rc == 0; m = m->next) {
		char *sub = g_strdup_printf("%s/properties/%s", ptr, (const char *)m->data);
		struct gram_node *child = NULL;

		rc = compile_node(json_object_get_member(props, m->data), sub, depth + 1, &child, err);
		if (rc == 0 && gram_add_prop(n, m->data, child) != 0) {
			gram_node_free(child);
			rc = dk_err_set(err, DK_EUNSUPPORTED, "property name at '%s' has quotes or controls",
					sub);
		}
		g_free(sub);
	}
	g_list_free(names);
	return rc;
}

static int compile_typed(JsonObject *o, const char *type, const char *ptr, int depth,
			 struct gram_node **out, struct dk_err *err)
{
	static const struct { const char *name; enum gram_kind kind; } kinds[] = {
		{ "object", GRAM_OBJECT }, { "array", GRAM_ARRAY }, { "string", GRAM_STRING },
		{ "integer", GRAM_INTEGER }, { "number", GRAM_NUMBER },
		{ "boolean", GRAM_BOOLEAN }, { "null", GRAM_NULL },
	};
	struct gram_node *n = NULL;
	int rc = 0;
	size_t k;

	for (k = 0; k < G_N_ELEMENTS(kinds) && strcmp(kinds[k].name, type) != 0; k++)
		;
	if (k == G_N_ELEMENTS(kinds))
		return dk_err_set(err, DK_EUNSUPPORTED, "unsupported type '%s' at '%s'", type, ptr);
	if ((n = gram_node_new(kinds[k].kind)) == NULL)
		return dk_err_set(err, DK_ENOMEM, "out of memory");
	if (int_member(o, "minItems", 0, &n->min_items) || int_member(o, "maxItems", -1, &n->max_items) ||
	    int_member(o, "minLength", 0, &n->min_len) || int_member(o, "maxLength", -1, &n->max_len))
		rc = dk_err_set(err, DK_EFORMAT, "bad length or item limit at '%s'", ptr);
	else if ((n->max_items >= 0 && n->min_items > n->max_items) ||
		 (n->max_len >= 0 && n->min_len > n->max_len))
		rc = dk_err_set(err, DK_EFORMAT, "minimum above maximum at '%s': no value is valid", ptr);
	else if (n->kind == GRAM_OBJECT)
		rc = compile_object(o, ptr, depth, n, err);
	else if (n->kind == GRAM_ARRAY) {
		char *sub = g_strdup_printf("%s/items", ptr);

		if (!json_object_has_member(o, "items"))
			rc = dk_err_set(err, DK_EUNSUPPORTED, "array at '%s' needs \"items\"", ptr);
		else
			rc = compile_node(json_object_get_member(o, "items"), sub, depth + 1, &n->items, err);
		g_free(sub);
	}
	if (rc) {
		gram_node_free(n);
		return rc;
	}
	*out = n;
	return 0;
}

static int compile_node(JsonNode *jn, const char *ptr, int depth, struct gram_node **out,
			struct dk_err *err)
{
	JsonObject *o;
	const char *type;
	int rc;

	*out = NULL;
	if (depth >= GRAM_MAX_DEPTH - 1)
		return dk_err_set(err, DK_EUNSUPPORTED, "schema nested deeper than %d at '%s'",
				  GRAM_MAX_DEPTH - 1, ptr);
	if (!JSON_NODE_HOLDS_OBJECT(jn))
		return dk_err_set(err, DK_EFORMAT, "schema at '%s' is not an object", *ptr ? ptr : "/");
	o = json_node_get_object(jn);
	if ((rc = check_keywords(o, ptr, err)) != 0)
		return rc;
	if (json_object_has_member(o, "enum")) {
		JsonNode *e = json_object_get_member(o, "enum");

		if (!JSON_NODE_HOLDS_ARRAY(e))
			return dk_err_set(err, DK_EFORMAT, "enum at '%s' is not an array", ptr);
		return compile_enum(json_node_get_array(e), ptr, out, err);
	}
	type = json_object_has_member(o, "type") &&
		json_node_get_value_type(json_object_get_member(o, "type")) == G_TYPE_STRING ?
		json_object_get_string_member(o, "type") : NULL;
	if (type == NULL)
		return dk_err_set(err, DK_EUNSUPPORTED, "schema at '%s' needs one \"type\" or an \"enum\"",
				  *ptr ? ptr : "/");
	return compile_typed(o, type, ptr, depth, out, err);
}

/* schema_grammar_compile - JSON Schema text to grammar */
int schema_grammar_compile(const char *json, size_t len, struct gram_node **out,
			   struct dk_err *err)
{
	JsonParser *p = json_parser_new();
	GError *gerr = NULL;
	int rc;

	*out = NULL;
	if (!json_parser_load_from_data(p, json, (gssize)len, &gerr)) {
		rc = dk_err_set(err, DK_EFORMAT, "schema is not JSON: %s", gerr->message);
		g_error_free(gerr);
	} else {
		rc = compile_node(json_parser_get_root(p), "", 0, out, err);
	}
	g_object_unref(p);
	return rc;
}

/* schema_grammar_load - read and compile a schema file */
int schema_grammar_load(const char *path, struct gram_node **out, struct dk_err *err)
{
	gchar *data = NULL;
	gsize len = 0;
	GError *gerr = NULL;
	int rc;

	*out = NULL;
	if (!g_file_get_contents(path, &data, &len, &gerr)) {
		rc = dk_err_set(err, g_error_matches(gerr, G_FILE_ERROR, G_FILE_ERROR_NOENT) ?
				DK_ENOTFOUND : DK_EIO, "cannot read schema '%s': %s", path, gerr->message);
		g_error_free(gerr);
		return rc;
	}
	rc = schema_grammar_compile(data, len, out, err);
	if (rc && err) {
		char why[DK_ERR_MSG_MAX];

		snprintf(why, sizeof why, "%s", err->msg);
		dk_err_set(err, rc, "'%s': %s", path, why);
	}
	g_free(data);
	return rc;
}
