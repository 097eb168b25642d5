/*
 * NAME
 *	grammar - a byte-level matcher for canonical JSON of a schema tree
 * DESIGN NOTES
 *	1. One canonical form (compact, properties in schema order) keeps the
 *	   language deterministic: at every byte the matcher knows which frame
 *	   the byte belongs to, so no backtracking and a state copy is cheap.
 *	2. A number has no closing delimiter: it ends when a byte arrives that
 *	   cannot extend it. That byte is then fed again to the enclosing frame
 *	   (value_done + refeed). gram_complete() accepts a root number in a
 *	   state where it could end.
 *	3. Strings are checked as UTF-8 (no overlongs, no surrogates, nothing
 *	   above U+10FFFF), control characters must not appear raw, and only the
 *	   escapes \" \\ \/ \n \r \t are accepted: whatever is accepted parses.
 *	4. Phases per kind are small integers documented beside each handler.
 */
#include <stdlib.h>
#include <string.h>

#include "engine/grammar.h"

enum { MAX_INT_DIGITS = 18, MAX_FRAC_DIGITS = 12 };

/* gram_node_new - an empty node */
struct gram_node *gram_node_new(enum gram_kind k)
{
	struct gram_node *n = calloc(1, sizeof *n);

	if (n) {
		n->kind = k;
		n->max_items = -1;
		n->max_len = -1;
	}
	return n;
}

/* gram_node_free - recursive free */
void gram_node_free(struct gram_node *n)
{
	if (n == NULL)
		return;
	for (int i = 0; i < n->n_props; i++) {
		free(n->prop_names[i]);
		free(n->prop_lits[i]);
		gram_node_free(n->props[i]);
	}
	for (int i = 0; i < n->n_values; i++)
		free(n->values[i]);
	gram_node_free(n->items);
	free(n->prop_names);
	free(n->prop_lits);
	free(n->props);
	free(n->values);
	free(n);
}

static int plain(const char *s)
{
	for (; *s; s++)
		if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20)
			return 0;
	return 1;
}

/* gram_add_prop - append a property; names with quotes or controls are refused */
int gram_add_prop(struct gram_node *obj, const char *name, struct gram_node *child)
{
	size_t len = strlen(name);
	int n = obj->n_props;
	void *a, *b, *c;
	char *lit;

	if (!plain(name) || child == NULL)
		return -1;
	a = realloc(obj->prop_names, (size_t)(n + 1) * sizeof *obj->prop_names);
	if (a)
		obj->prop_names = a;
	b = realloc(obj->prop_lits, (size_t)(n + 1) * sizeof *obj->prop_lits);
	if (b)
		obj->prop_lits = b;
	c = realloc(obj->props, (size_t)(n + 1) * sizeof *obj->props);
	if (c)
		obj->props = c;
	lit = malloc(len + 5);
	if (!a || !b || !c || !lit || !(obj->prop_names[n] = strdup(name))) {
		free(lit);
		return -1;
	}
	lit[0] = ',';
	lit[1] = '"';
	memcpy(lit + 2, name, len);
	memcpy(lit + 2 + len, "\":", 3);
	obj->prop_lits[n] = lit;
	obj->props[n] = child;
	obj->n_props++;
	return 0;
}

/* gram_add_value - append an enum value (no quotes, backslashes or controls) */
int gram_add_value(struct gram_node *en, const char *value)
{
	void *a;

	if (!plain(value) || en->n_values == GRAM_MAX_ENUM)
		return -1;
	a = realloc(en->values, (size_t)(en->n_values + 1) * sizeof *en->values);
	if (a == NULL)
		return -1;
	en->values = a;
	if ((en->values[en->n_values] = strdup(value)) == NULL)
		return -1;
	en->n_values++;
	return 0;
}

/* gram_init - expect one root value */
void gram_init(struct gram_state *s, const struct gram_node *root)
{
	memset(s, 0, sizeof *s);
	s->root = root;
}

static int push(struct gram_state *s, const struct gram_node *n)
{
	if (s->depth == GRAM_MAX_DEPTH)
		return -1;
	memset(&s->stack[s->depth], 0, sizeof s->stack[0]);
	s->stack[s->depth++].node = n;
	return 0;
}

static int feed_byte(struct gram_state *s, unsigned char c);

/* value_done - the top value ended; advance its parent */
static int value_done(struct gram_state *s)
{
	struct gram_frame *p;

	s->depth--;
	if (s->depth == 0)
		return 0;
	p = &s->stack[s->depth - 1];
	if (p->node->kind == GRAM_OBJECT) {
		if (++p->index < p->node->n_props) {
			s->lit = p->node->prop_lits[p->index];
			s->lit_off = 0;
			p->phase = 1;
		} else {
			p->phase = 3;
		}
	} else {	/* GRAM_ARRAY */
		p->index++;
		p->phase = 2;
	}
	return 0;
}

/* literal_done - a key literal ended: the property's value starts */
static int literal_done(struct gram_state *s)
{
	struct gram_frame *f = &s->stack[s->depth - 1];

	s->lit = NULL;
	f->phase = 2;
	return push(s, f->node->props[f->index]);
}

/* object: 0 '{', 1 key literal, 2 value, 3 '}' */
static int feed_object(struct gram_state *s, struct gram_frame *f, unsigned char c)
{
	if (f->phase == 0 && c == '{') {
		if (f->node->n_props == 0) {
			f->phase = 3;
			return 0;
		}
		f->phase = 1;
		f->index = 0;
		s->lit = f->node->prop_lits[0] + 1;	/* no comma before the first */
		s->lit_off = 0;
		return 0;
	}
	if (f->phase == 3 && c == '}')
		return value_done(s);
	return -1;
}

/* array: 0 '[', 1 first item or ']', 2 ',' or ']', 3 item after ',' */
static int feed_array(struct gram_state *s, struct gram_frame *f, unsigned char c)
{
	const struct gram_node *n = f->node;

	switch (f->phase) {
	case 0:
		if (c != '[')
			return -1;
		f->phase = 1;
		return 0;
	case 1:
		if (c == ']')
			return n->min_items <= 0 ? value_done(s) : -1;
		if (n->max_items == 0)
			return -1;
		break;
	case 2:
		if (c == ']')
			return f->index >= n->min_items ? value_done(s) : -1;
		if (c == ',' && (n->max_items < 0 || f->index < n->max_items)) {
			f->phase = 3;
			return 0;
		}
		return -1;
	}
	if (push(s, n->items) != 0)
		return -1;
	return feed_byte(s, c);
}

/* utf8_lead - start of a multi-byte character (DESIGN NOTE 3) */
static int utf8_lead(struct gram_state *s, unsigned char c)
{
	s->utf8_lo = 0x80;
	s->utf8_hi = 0xBF;
	if (c >= 0xC2 && c <= 0xDF)
		s->utf8_left = 1;
	else if (c >= 0xE0 && c <= 0xEF)
		s->utf8_left = 2;
	else if (c >= 0xF0 && c <= 0xF4)
		s->utf8_left = 3;
	else
		return -1;
	if (c == 0xE0)
		s->utf8_lo = 0xA0;
	else if (c == 0xED)
		s->utf8_hi = 0x9F;
	else if (c == 0xF0)
		s->utf8_lo = 0x90;
	else if (c == 0xF4)
		s->utf8_hi = 0x8F;
	return 0;
}

/* string: 0 '"', 1 content */
static int feed_string(struct gram_state *s, struct gram_frame *f, unsigned char c)
{
	const struct gram_node *n = f->node;
	int room = n->max_len < 0 || f->count < n->max_len;

	if (f->phase == 0) {
		if (c != '"')
			return -1;
		f->phase = 1;
		return 0;
	}
	if (s->utf8_left) {
		if (c < s->utf8_lo || c > s->utf8_hi)
			return -1;
		s->utf8_lo = 0x80;
		s->utf8_hi = 0xBF;
		s->utf8_left--;
		return 0;
	}
	if (s->escape) {
		s->escape = 0;
		f->count++;
		return strchr("\"\\/nrt", c) && c ? 0 : -1;
	}
	if (c == '"')
		return f->count >= n->min_len ? value_done(s) : -1;
	if (!room || c < 0x20 || c == 0x7F)
		return -1;
	if (c == '\\') {
		s->escape = 1;
		return 0;
	}
	if (c >= 0x80 && utf8_lead(s, c) != 0)
		return -1;
	f->count++;
	return 0;
}

/* enum: 0 '"', 1 content; boolean/null: words matched from the first byte */
static int feed_words(struct gram_state *s, struct gram_frame *f, unsigned char c,
		      const char *const *words, int n_words, int quoted)
{
	uint64_t alive = 0;

	if (f->phase == 0) {
		f->phase = 1;
		f->alive = n_words >= 64 ? ~0ull : (1ull << n_words) - 1;
		f->index = 0;
		if (quoted)
			return c == '"' ? 0 : -1;
	}
	if (quoted && c == '"') {
		for (int i = 0; i < n_words; i++)
			if ((f->alive >> i & 1) && words[i][f->index] == 0)
				return value_done(s);
		return -1;
	}
	for (int i = 0; i < n_words; i++)
		if ((f->alive >> i & 1) && (unsigned char)words[i][f->index] == c && c)
			alive |= 1ull << i;
	if (alive == 0)
		return -1;
	f->alive = alive;
	f->index++;
	if (!quoted)
		for (int i = 0; i < n_words; i++)
			if ((alive >> i & 1) && words[i][f->index] == 0)
				return value_done(s);
	return 0;
}

/* number: 0 start, 1 after '-', 2 int digits, 3 after a leading 0, 4 after '.', 5 fraction */
static int number_ends(const struct gram_frame *f)
{
	return f->phase == 2 || f->phase == 3 || f->phase == 5;
}

static int feed_number(struct gram_state *s, struct gram_frame *f, unsigned char c)
{
	int digit = c >= '0' && c <= '9', frac = f->node->kind == GRAM_NUMBER;

	switch (f->phase) {
	case 0:
		if (c == '-') {
			f->phase = 1;
			return 0;
		}
		/* fall through */
	case 1:
		if (!digit)
			return -1;
		f->phase = c == '0' ? 3 : 2;
		f->index = 1;
		return 0;
	case 2:
		if (digit && f->index < MAX_INT_DIGITS) {
			f->index++;
			return 0;
		}
		break;
	case 4:
		if (!digit)
			return -1;
		f->phase = 5;
		f->index = 1;
		return 0;
	case 5:
		if (digit && f->index < MAX_FRAC_DIGITS) {
			f->index++;
			return 0;
		}
		break;
	}
	if (frac && c == '.' && (f->phase == 2 || f->phase == 3)) {
		f->phase = 4;
		return 0;
	}
	if (!number_ends(f) || digit)
		return -1;
	value_done(s);	/* DESIGN NOTE 2: c belongs to the parent */
	return s->depth ? feed_byte(s, c) : -1;
}

static int feed_byte(struct gram_state *s, unsigned char c)
{
	static const char *const booleans[] = { "true", "false" }, *const nulls[] = { "null" };
	struct gram_frame *f;

	if (s->lit) {
		if (c != (unsigned char)s->lit[s->lit_off])
			return -1;
		return s->lit[++s->lit_off] ? 0 : literal_done(s);
	}
	if (s->depth == 0) {
		if (s->started || s->root == NULL)
			return -1;
		s->started = 1;
		push(s, s->root);
	}
	f = &s->stack[s->depth - 1];
	switch (f->node->kind) {
	case GRAM_OBJECT: return feed_object(s, f, c);
	case GRAM_ARRAY: return feed_array(s, f, c);
	case GRAM_STRING: return feed_string(s, f, c);
	case GRAM_ENUM:
		return feed_words(s, f, c, (const char *const *)f->node->values, f->node->n_values, 1);
	case GRAM_BOOLEAN: return feed_words(s, f, c, booleans, 2, 0);
	case GRAM_NULL: return feed_words(s, f, c, nulls, 1, 0);
	case GRAM_INTEGER:
	case GRAM_NUMBER: return feed_number(s, f, c);
	}
	return -1;
}

/* gram_feed - accept n bytes or reject */
int gram_feed(struct gram_state *s, const char *bytes, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (feed_byte(s, (unsigned char)bytes[i]) != 0)
			return -1;
	return 0;
}

/* gram_complete - a whole root value has been accepted */
int gram_complete(const struct gram_state *s)
{
	if (!s->started || s->lit)
		return 0;
	if (s->depth == 0)
		return 1;
	return s->depth == 1 && (s->stack[0].node->kind == GRAM_INTEGER ||
				 s->stack[0].node->kind == GRAM_NUMBER) &&
	       number_ends(&s->stack[0]);
}
