/*
 * NAME
 *	gguf - validating GGUF reader
 * DESIGN NOTES
 *	1. Every read goes through the cursor functions (rd_*), which check
 *	   the remaining length first: no byte outside [base, base+size) is
 *	   ever touched, whatever the header claims.
 *	2. Counts are checked against what the rest of the file could hold
 *	   before anything is allocated (a key/value needs >= 13 bytes, a
 *	   tensor info >= 33, an array element >= 1, a string element >= 8),
 *	   so a 100-byte file cannot ask for gigabytes.
 *	3. Tensor sizes are computed with overflow checks: each dim in
 *	   [0, INT64_MAX], the product below 2^62, ne[0] a multiple of the
 *	   type's block size, offset + nbytes inside the data section.
 *	4. Values are little-endian and unaligned in the file: always memcpy.
 *	5. The first failure wins and is the one message reported; parse
 *	   functions return at once, so the error names the first bad field.
 *	6. gguf_open() copies the file into anonymous memory advised for
 *	   transparent huge pages rather than mapping it. Generation reads
 *	   every weight once per token, so it is bound by memory bandwidth,
 *	   and on 4 KB pages the TLB misses cost a good part of it: reading
 *	   1 GB on this kind of machine (2 threads, Zen 4) ran at 27.5 GB/s on
 *	   4 KB pages, 32 GB/s on 2 MB pages, and Q8_0 generation went from
 *	   55 to 73 tokens/s. The price is the copy at load (about 0.1 s per
 *	   400 MB from the page cache) and memory not shared with the page
 *	   cache; the engine loads one model once per machine.
 *	7. Opening hashes the file (SHA-256, gguf_sha256) in the same pass: the
 *	   hash a decision records is that of the very bytes the engine runs,
 *	   with no second read and no window for the file to change between
 *	   hashing and loading. Each chunk is hashed right after it is read,
 *	   while it is still in the cache. libcrypto rather than GChecksum:
 *	   it uses the CPU's SHA extensions, 2.5 GB in 1.4 s of CPU on this
 *	   machine kind against 6.6 s.
 *	8. The hashing runs on a thread of its own (struct hasher), one chunk
 *	   behind the reads: the reads are mostly the kernel zeroing and
 *	   filling fresh pages (1-4 s of system time for 2.5 GB), so on a
 *	   second core the hash costs no wall time (docket bench -p 1 -n 1
 *	   on gemma3-4b, alternated, loaded machine: 3.1-4.6 s before,
 *	   2.4-3.7 s after). The digest is still of the bytes in memory, in
 *	   file order. Without a thread it hashes inline, as before.
 */
#include "engine/gguf.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "engine/ggml_types.h"

/* transparent huge page size on x86-64 (note 6) */
#define HUGE_PAGE ((size_t)2 << 20)
#define HASH_CHUNK ((size_t)8 << 20)	/* read and hashed at a time (note 7): within L2+L3 */

struct rd {
	const uint8_t *p;
	size_t size;
	size_t off;
	struct dk_err *err;
};

static const size_t vtype_sizes[GGUF_VT_COUNT] = {
	[GGUF_VT_U8] = 1, [GGUF_VT_I8] = 1, [GGUF_VT_U16] = 2, [GGUF_VT_I16] = 2,
	[GGUF_VT_U32] = 4, [GGUF_VT_I32] = 4, [GGUF_VT_F32] = 4, [GGUF_VT_BOOL] = 1,
	[GGUF_VT_U64] = 8, [GGUF_VT_I64] = 8, [GGUF_VT_F64] = 8,
};

static const char *const vtype_names[GGUF_VT_COUNT] = {
	"u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string",
	"array", "u64", "i64", "f64",
};

/* gguf_vtype_size - bytes of a fixed-size value */
size_t gguf_vtype_size(uint32_t t)
{
	return t < GGUF_VT_COUNT ? vtype_sizes[t] : 0;
}

/* gguf_vtype_name - printable type name */
const char *gguf_vtype_name(uint32_t t)
{
	return t < GGUF_VT_COUNT ? vtype_names[t] : "unknown";
}

/* gguf_str_eq - compare a counted string with a C string */
int gguf_str_eq(struct gguf_str s, const char *c)
{
	size_t n = strlen(c);

	return s.len == n && memcmp(s.s, c, n) == 0;
}

static size_t rd_left(const struct rd *r)
{
	return r->size - r->off;
}

/* rd_bytes - claim n bytes at the cursor (note 1) */
static int rd_bytes(struct rd *r, size_t n, const void **out, const char *what)
{
	if (n > rd_left(r))
		return dk_err_set(r->err, DK_EFORMAT,
				  "truncated gguf: %s at offset %zu needs %zu bytes, %zu left",
				  what, r->off, n, rd_left(r));
	*out = r->p + r->off;
	r->off += n;
	return 0;
}

static int rd_u32(struct rd *r, uint32_t *v, const char *what)
{
	const void *p = NULL;
	int rc = rd_bytes(r, 4, &p, what);

	if (rc == 0)
		memcpy(v, p, 4);
	return rc;
}

static int rd_u64(struct rd *r, uint64_t *v, const char *what)
{
	const void *p = NULL;
	int rc = rd_bytes(r, 8, &p, what);

	if (rc == 0)
		memcpy(v, p, 8);
	return rc;
}

static int rd_str(struct rd *r, struct gguf_str *s, const char *what)
{
	uint64_t len;
	const void *p;
	int rc = rd_u64(r, &len, what);

	if (rc != 0)
		return rc;
	if (len > rd_left(r))
		return dk_err_set(r->err, DK_EFORMAT,
				  "malformed gguf: %s length %llu exceeds the file size",
				  what, (unsigned long long)len);
	rc = rd_bytes(r, (size_t)len, &p, what);
	s->s = p;
	s->len = (size_t)len;
	return rc;
}

/* shown - a key for messages: printable prefix of a counted string */
static const char *shown(struct gguf_str s, char *buf, size_t cap)
{
	size_t n = s.len < cap - 1 ? s.len : cap - 1;

	for (size_t i = 0; i < n; i++)
		buf[i] = (s.s[i] >= 0x20 && s.s[i] < 0x7f) ? s.s[i] : '?';
	buf[n] = 0;
	return buf;
}

/* read_array - element type, count and elements of an array value (note 2) */
static int read_array(struct rd *r, struct gguf_kv *kv, const char *key)
{
	uint64_t n;
	int rc;

	if ((rc = rd_u32(r, &kv->arr_type, "array type")) != 0 ||
	    (rc = rd_u64(r, &n, "array length")) != 0)
		return rc;
	kv->n = n;
	if (kv->arr_type == GGUF_VT_ARRAY || kv->arr_type >= GGUF_VT_COUNT)
		return dk_err_set(r->err, DK_EFORMAT,
				  "malformed gguf: key '%s' has array element type %u",
				  key, kv->arr_type);
	kv->val = r->p + r->off;
	if (kv->arr_type != GGUF_VT_STRING) {
		size_t es = vtype_sizes[kv->arr_type];
		const void *p;
		if (n > rd_left(r) / es)
			return dk_err_set(r->err, DK_EFORMAT,
					  "malformed gguf: key '%s' array of %llu elements exceeds the file size",
					  key, (unsigned long long)n);
		return rd_bytes(r, (size_t)(n * es), &p, key);
	}
	if (n > rd_left(r) / 8)
		return dk_err_set(r->err, DK_EFORMAT,
				  "malformed gguf: key '%s' array of %llu strings exceeds the file size",
				  key, (unsigned long long)n);
	uint64_t *off = malloc((size_t)(n ? n : 1) * sizeof *off);
	if (off == NULL)
		return dk_err_set(r->err, DK_ENOMEM, "out of memory reading key '%s'", key);
	kv->str_off = off;
	for (uint64_t i = 0; i < n; i++) {
		struct gguf_str s;
		off[i] = (uint64_t)(r->p + r->off - kv->val);
		if ((rc = rd_str(r, &s, key)) != 0)
			return rc;
	}
	return 0;
}

/* read_kv - one key/value pair */
static int read_kv(struct rd *r, struct gguf_kv *kv)
{
	char kb[80];
	const void *p;
	int rc;

	if ((rc = rd_str(r, &kv->key, "key")) != 0 ||
	    (rc = rd_u32(r, &kv->type, "value type")) != 0)
		return rc;
	shown(kv->key, kb, sizeof kb);
	kv->n = 1;
	if (kv->type >= GGUF_VT_COUNT)
		return dk_err_set(r->err, DK_EFORMAT,
				  "malformed gguf: key '%s' has unknown value type %u", kb, kv->type);
	if (kv->type == GGUF_VT_ARRAY)
		return read_array(r, kv, kb);
	kv->val = r->p + r->off;
	if (kv->type == GGUF_VT_STRING) {
		struct gguf_str s;
		return rd_str(r, &s, kb);
	}
	return rd_bytes(r, vtype_sizes[kv->type], &p, kb);
}

/* tensor_size - element count and bytes with overflow checks (note 3) */
static int tensor_size(struct rd *r, struct gguf_tensor *t, const char *name)
{
	const struct ggml_type_traits *tt = ggml_type_traits(t->type);
	uint64_t n = 1;

	if (tt == NULL)
		return dk_err_set(r->err, DK_EUNSUPPORTED,
				  "unsupported gguf: tensor '%s' has unknown type %u", name, t->type);
	for (uint32_t d = 0; d < GGUF_MAX_DIMS; d++) {
		if (t->ne[d] < 0)
			return dk_err_set(r->err, DK_EFORMAT,
					  "malformed gguf: tensor '%s' has negative dimension %u", name, d);
		if (t->ne[d] != 0 && n > ((uint64_t)1 << 62) / (uint64_t)t->ne[d])
			return dk_err_set(r->err, DK_EFORMAT,
					  "malformed gguf: tensor '%s' element count overflows", name);
		n *= (uint64_t)t->ne[d];
	}
	if (t->ne[0] % tt->blck_size != 0)
		return dk_err_set(r->err, DK_EFORMAT,
				  "malformed gguf: tensor '%s' row of %lld is not a multiple of the %s block size %u",
				  name, (long long)t->ne[0], tt->name, tt->blck_size);
	t->n_elem = n;
	t->nbytes = n / tt->blck_size * tt->type_size;
	return 0;
}

/* read_tensor_info - name, dims, type, offset of one tensor */
static int read_tensor_info(struct rd *r, struct gguf_tensor *t)
{
	char nb[80];
	int rc;

	if ((rc = rd_str(r, &t->name, "tensor name")) != 0 ||
	    (rc = rd_u32(r, &t->n_dims, "tensor dims")) != 0)
		return rc;
	shown(t->name, nb, sizeof nb);
	if (t->name.len >= GGUF_MAX_NAME)
		return dk_err_set(r->err, DK_EFORMAT,
				  "malformed gguf: tensor name '%s' is longer than %d bytes",
				  nb, GGUF_MAX_NAME - 1);
	if (t->n_dims == 0 || t->n_dims > GGUF_MAX_DIMS)
		return dk_err_set(r->err, DK_EFORMAT,
				  "malformed gguf: tensor '%s' has %u dimensions (1..%d allowed)",
				  nb, t->n_dims, GGUF_MAX_DIMS);
	for (uint32_t d = 0; d < GGUF_MAX_DIMS; d++) {
		uint64_t v = 1;
		if (d < t->n_dims && (rc = rd_u64(r, &v, nb)) != 0)
			return rc;
		if (v > INT64_MAX)
			return dk_err_set(r->err, DK_EFORMAT,
					  "malformed gguf: tensor '%s' has negative dimension %u", nb, d);
		t->ne[d] = (int64_t)v;
	}
	if ((rc = rd_u32(r, &t->type, nb)) != 0 || (rc = rd_u64(r, &t->offset, nb)) != 0)
		return rc;
	return tensor_size(r, t, nb);
}

/* check_unique - no repeated key or tensor name (quadratic: counts are small) */
static int check_unique(struct gguf *g, struct dk_err *err)
{
	char b[80];

	for (uint64_t i = 0; i < g->n_kv; i++)
		for (uint64_t j = 0; j < i; j++)
			if (g->kv[i].key.len == g->kv[j].key.len &&
			    memcmp(g->kv[i].key.s, g->kv[j].key.s, g->kv[i].key.len) == 0)
				return dk_err_set(err, DK_EFORMAT, "malformed gguf: duplicate key '%s'",
						  shown(g->kv[i].key, b, sizeof b));
	for (uint64_t i = 0; i < g->n_tensors; i++)
		for (uint64_t j = 0; j < i; j++)
			if (g->tensors[i].name.len == g->tensors[j].name.len &&
			    memcmp(g->tensors[i].name.s, g->tensors[j].name.s, g->tensors[i].name.len) == 0)
				return dk_err_set(err, DK_EFORMAT, "malformed gguf: duplicate tensor '%s'",
						  shown(g->tensors[i].name, b, sizeof b));
	return 0;
}

/* place_data - alignment, data section, each tensor's data pointer */
static int place_data(struct gguf *g, struct rd *r)
{
	const struct gguf_kv *al = gguf_find_key(g, "general.alignment");
	char b[80];

	g->alignment = GGUF_DEFAULT_ALIGNMENT;
	if (al != NULL) {
		uint32_t a;
		if (al->type != GGUF_VT_U32)
			return dk_err_set(r->err, DK_EFORMAT,
					  "malformed gguf: general.alignment has type %s, not u32",
					  gguf_vtype_name(al->type));
		memcpy(&a, al->val, 4);
		if (a == 0 || (a & (a - 1)) != 0)
			return dk_err_set(r->err, DK_EFORMAT,
					  "malformed gguf: general.alignment %u is not a power of two", a);
		g->alignment = a;
	}
	uint64_t off = (r->off + g->alignment - 1) / g->alignment * g->alignment;
	if (g->n_tensors > 0 && off > g->size)
		return dk_err_set(r->err, DK_EFORMAT, "truncated gguf: no data section");
	g->data_offset = off;
	uint64_t data_size = off <= g->size ? g->size - off : 0;
	for (uint64_t i = 0; i < g->n_tensors; i++) {
		struct gguf_tensor *t = &g->tensors[i];
		shown(t->name, b, sizeof b);
		if (t->offset % g->alignment != 0)
			return dk_err_set(r->err, DK_EFORMAT,
					  "malformed gguf: tensor '%s' offset %llu is not aligned to %llu",
					  b, (unsigned long long)t->offset, (unsigned long long)g->alignment);
		if (t->offset > data_size || t->nbytes > data_size - t->offset)
			return dk_err_set(r->err, DK_EFORMAT,
					  "malformed gguf: tensor '%s' data (%llu bytes at %llu) lies beyond the end of the file",
					  b, (unsigned long long)t->nbytes, (unsigned long long)t->offset);
		t->data = g->base + off + t->offset;
	}
	return 0;
}

/* parse - the whole file, in order (note 5) */
static int parse(struct gguf *g, struct dk_err *err)
{
	struct rd r = { g->base, g->size, 0, err };
	const void *magic;
	int rc;

	if (g->size < 4 || memcmp(g->base, "GGUF", 4) != 0)
		return dk_err_set(err, DK_EFORMAT, "not a gguf file: bad magic");
	rd_bytes(&r, 4, &magic, "magic");
	if ((rc = rd_u32(&r, &g->version, "version")) != 0)
		return rc;
	if (g->version == 1)
		return dk_err_set(err, DK_EUNSUPPORTED, "unsupported gguf version 1 (2 and 3 are read)");
	if (g->version > 0xffff)
		return dk_err_set(err, DK_EUNSUPPORTED,
				  "unsupported gguf: big-endian or unknown version %u", g->version);
	if (g->version != 2 && g->version != 3)
		return dk_err_set(err, DK_EUNSUPPORTED,
				  "unsupported gguf version %u (2 and 3 are read)", g->version);
	if ((rc = rd_u64(&r, &g->n_tensors, "tensor count")) != 0 ||
	    (rc = rd_u64(&r, &g->n_kv, "key/value count")) != 0)
		return rc;
	if (g->n_kv > rd_left(&r) / 13 || g->n_tensors > rd_left(&r) / 33)
		return dk_err_set(err, DK_EFORMAT,
				  "malformed gguf: %llu keys and %llu tensors cannot fit in %zu bytes",
				  (unsigned long long)g->n_kv, (unsigned long long)g->n_tensors, g->size);
	g->kv = calloc((size_t)g->n_kv + 1, sizeof *g->kv);
	g->tensors = calloc((size_t)g->n_tensors + 1, sizeof *g->tensors);
	if (g->kv == NULL || g->tensors == NULL)
		return dk_err_set(err, DK_ENOMEM, "out of memory reading gguf header");
	for (uint64_t i = 0; i < g->n_kv; i++)
		if ((rc = read_kv(&r, &g->kv[i])) != 0)
			return rc;
	for (uint64_t i = 0; i < g->n_tensors; i++)
		if ((rc = read_tensor_info(&r, &g->tensors[i])) != 0)
			return rc;
	if ((rc = check_unique(g, err)) != 0)
		return rc;
	return place_data(g, &r);
}

static int finish_open(struct gguf *g, struct gguf **out, struct dk_err *err)
{
	int rc = parse(g, err);

	if (rc != 0) {
		gguf_free(g);
		return rc;
	}
	*out = g;
	return 0;
}

/* gguf_open_buffer - parse caller memory */
int gguf_open_buffer(const void *buf, size_t size, struct gguf **out, struct dk_err *err)
{
	struct gguf *g = calloc(1, sizeof *g);

	*out = NULL;
	if (g == NULL)
		return dk_err_set(err, DK_ENOMEM, "out of memory opening gguf");
	g->base = buf;
	g->size = size;
	return finish_open(g, out, err);
}

/* resident_alloc - size bytes of anonymous memory on a 2 MB boundary (note
 * 6), rounded up to whole huge pages; *mapped gets the mapping's length */
static void *resident_alloc(size_t size, size_t *mapped)
{
	size_t len = (size + HUGE_PAGE - 1) & ~(size_t)(HUGE_PAGE - 1);
	uint8_t *raw = mmap(NULL, len + HUGE_PAGE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (raw == MAP_FAILED)
		return NULL;
	size_t head = (HUGE_PAGE - (uintptr_t)raw % HUGE_PAGE) % HUGE_PAGE;
	if (head > 0)
		munmap(raw, head);
	munmap(raw + head + len, HUGE_PAGE - head);
	/* advice only: without THP the copy still works, on small pages */
	(void)madvise(raw + head, len, MADV_HUGEPAGE);
	*mapped = len;
	return raw + head;
}

/* hash_begin - a SHA-256 context (note 7), or NULL */
static EVP_MD_CTX *hash_begin(void)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	if (md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(md);
		md = NULL;
	}
	return md;
}

/* hash_end - the digest as 64 hex digits; frees md; 0 or -1 */
static int hash_end(EVP_MD_CTX *md, int ok, char out[65])
{
	unsigned char d[32];
	unsigned int dn = 0;

	ok = ok && EVP_DigestFinal_ex(md, d, &dn) == 1 && dn == sizeof d;
	EVP_MD_CTX_free(md);
	for (int i = 0; ok && i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
	return ok ? 0 : -1;
}

/* struct hasher - note 8: hashes buf up to ready as the reader advances it */
struct hasher {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	const uint8_t *buf;
	size_t ready;		/* bytes read so far (under mu) */
	int last;		/* no more will come (under mu) */
	EVP_MD_CTX *md;
	int ok;			/* every update succeeded (the hashing side's) */
};

static void *hash_run(void *arg)
{
	struct hasher *h = arg;
	size_t done = 0, upto;
	int last;

	do {
		pthread_mutex_lock(&h->mu);
		while (h->ready == done && !h->last)
			pthread_cond_wait(&h->cv, &h->mu);
		upto = h->ready;
		last = h->last;
		pthread_mutex_unlock(&h->mu);
		h->ok = h->ok && EVP_DigestUpdate(h->md, h->buf + done, upto - done) == 1;
		done = upto;
	} while (!last);
	return NULL;
}

/* hasher_feed - the bytes up to ready are in buf; last: the reading is over */
static void hasher_feed(struct hasher *h, int threaded, size_t ready, int last)
{
	if (!threaded) {
		h->ok = h->ok && EVP_DigestUpdate(h->md, h->buf + h->ready, ready - h->ready) == 1;
		h->ready = ready;
		return;
	}
	pthread_mutex_lock(&h->mu);
	h->ready = ready;
	h->last = last;
	pthread_cond_signal(&h->cv);
	pthread_mutex_unlock(&h->mu);
}

/* read_all - size bytes of fd into buf, hashed as they arrive (notes 7, 8);
 * 0, or -1 with errno (EIO: file shrank or hashing failed) */
static int read_all(int fd, uint8_t *buf, size_t size, char sha[65])
{
	struct hasher h = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, buf, 0, 0, hash_begin(), 1 };
	pthread_t tid;
	size_t off = 0;
	int threaded, rc = 0;

	if (h.md == NULL) {
		errno = EIO;
		return -1;
	}
	threaded = pthread_create(&tid, NULL, hash_run, &h) == 0;
	while (off < size) {
		size_t want = size - off < HASH_CHUNK ? size - off : HASH_CHUNK;
		ssize_t r = pread(fd, buf + off, want, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			rc = r == 0 ? EIO : errno;
			break;
		}
		off += (size_t)r;
		hasher_feed(&h, threaded, off, off == size);
	}
	if (threaded) {
		if (rc != 0)
			hasher_feed(&h, threaded, off, 1);
		pthread_join(tid, NULL);
	}
	if (hash_end(h.md, rc == 0 && h.ok, sha) != 0) {
		errno = rc != 0 ? rc : EIO;
		return -1;
	}
	return 0;
}

/* open_file - a non-empty regular file for reading, and its size */
static int open_file(const char *path, int *fd, size_t *size, struct dk_err *err)
{
	struct stat st = { 0 };

	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return dk_err_set(err, errno == ENOENT ? DK_ENOTFOUND : DK_EIO,
				  "cannot open '%s': %s", path, strerror(errno));
	if (fstat(*fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0) {
		int empty = S_ISREG(st.st_mode) && st.st_size == 0;

		close(*fd);
		return empty ? dk_err_set(err, DK_EFORMAT, "not a gguf file: '%s' is empty", path)
			     : dk_err_set(err, DK_EIO, "cannot read '%s': not a regular file", path);
	}
	*size = (size_t)st.st_size;
	return 0;
}

/* gguf_open - read a file into resident memory (note 6) and parse it */
int gguf_open(const char *path, struct gguf **out, struct dk_err *err)
{
	struct gguf *g;
	uint8_t *buf;
	size_t mapped, size;
	char sha[65];
	int fd, rc;

	*out = NULL;
	if ((rc = open_file(path, &fd, &size, err)) != 0)
		return rc;
	buf = resident_alloc(size, &mapped);
	if (buf == NULL) {
		close(fd);
		return dk_err_set(err, DK_ENOMEM, "cannot allocate %lld bytes for '%s': %s",
				  (long long)size, path, strerror(errno));
	}
	if (read_all(fd, buf, size, sha) != 0) {
		int e = errno;
		close(fd);
		munmap(buf, mapped);
		return dk_err_set(err, DK_EIO, "cannot read '%s': %s", path, strerror(e));
	}
	close(fd);
	/* weights are read-only from here: a stray write faults at once */
	mprotect(buf, mapped, PROT_READ);
	g = calloc(1, sizeof *g);
	if (g == NULL) {
		munmap(buf, mapped);
		return dk_err_set(err, DK_ENOMEM, "out of memory opening '%s'", path);
	}
	g->base = buf;
	g->size = size;
	g->mapped = mapped;
	g->resident = 1;
	memcpy(g->sha256, sha, sizeof sha);
	return finish_open(g, out, err);
}

/* gguf_open_mapped - see gguf.h: the file's pages, shared with the page cache */
int gguf_open_mapped(const char *path, struct gguf **out, struct dk_err *err)
{
	struct gguf *g;
	EVP_MD_CTX *md;
	char sha[65];
	size_t size;
	void *buf;
	int fd, ok, rc;

	*out = NULL;
	if ((rc = open_file(path, &fd, &size, err)) != 0)
		return rc;
	buf = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (buf == MAP_FAILED)
		return dk_err_set(err, DK_EIO, "cannot map '%s': %s", path, strerror(errno));
	g = calloc(1, sizeof *g);
	md = hash_begin();
	ok = md != NULL && EVP_DigestUpdate(md, buf, size) == 1;
	if (md == NULL || hash_end(md, ok, sha) != 0 || g == NULL) {
		free(g);
		munmap(buf, size);
		return dk_err_set(err, DK_ENOMEM, "cannot hash '%s': out of memory", path);
	}
	g->base = buf;
	g->size = size;
	g->mapped = size;
	memcpy(g->sha256, sha, sizeof sha);
	return finish_open(g, out, err);
}

/* gguf_sha256 - see gguf.h */
const char *gguf_sha256(const struct gguf *g)
{
	return g->sha256;
}

/* gguf_set_writable - see gguf.h */
int gguf_set_writable(struct gguf *g, int on)
{
	if (!g->resident)
		return -1;
	return mprotect((void *)g->base, g->mapped, on ? PROT_READ | PROT_WRITE : PROT_READ);
}

/* gguf_free - unmap and release; NULL is fine */
void gguf_free(struct gguf *g)
{
	if (g == NULL)
		return;
	if (g->kv != NULL)
		for (uint64_t i = 0; i < g->n_kv; i++)
			free((void *)g->kv[i].str_off);
	free(g->kv);
	free(g->tensors);
	if (g->mapped)
		munmap((void *)g->base, g->mapped);
	free(g);
}

/* gguf_find_key - linear search (a few dozen keys) */
const struct gguf_kv *gguf_find_key(const struct gguf *g, const char *key)
{
	for (uint64_t i = 0; i < g->n_kv; i++)
		if (gguf_str_eq(g->kv[i].key, key))
			return &g->kv[i];
	return NULL;
}

/* gguf_find_tensor - linear search */
const struct gguf_tensor *gguf_find_tensor(const struct gguf *g, const char *name)
{
	for (uint64_t i = 0; i < g->n_tensors; i++)
		if (gguf_str_eq(g->tensors[i].name, name))
			return &g->tensors[i];
	return NULL;
}

/* int_value - any integer scalar as int64 (u64 above INT64_MAX fails) */
static int int_value(uint32_t type, const uint8_t *p, int64_t *out)
{
	union { uint8_t u8; int8_t i8; uint16_t u16; int16_t i16; uint32_t u32;
		int32_t i32; uint64_t u64; int64_t i64; } v;

	memcpy(&v, p, gguf_vtype_size(type));
	switch (type) {
	case GGUF_VT_U8: *out = v.u8; return 0;
	case GGUF_VT_I8: *out = v.i8; return 0;
	case GGUF_VT_U16: *out = v.u16; return 0;
	case GGUF_VT_I16: *out = v.i16; return 0;
	case GGUF_VT_U32: *out = v.u32; return 0;
	case GGUF_VT_I32: *out = v.i32; return 0;
	case GGUF_VT_I64: *out = v.i64; return 0;
	case GGUF_VT_U64:
		if (v.u64 > INT64_MAX)
			return -1;
		*out = (int64_t)v.u64;
		return 0;
	default:
		return -1;
	}
}

static const struct gguf_kv *need(const struct gguf *g, const char *key, struct dk_err *err)
{
	const struct gguf_kv *kv = gguf_find_key(g, key);

	if (kv == NULL)
		dk_err_set(err, DK_ENOTFOUND, "gguf key '%s' is missing", key);
	return kv;
}

int gguf_get_i64(const struct gguf *g, const char *key, int64_t *out, struct dk_err *err)
{
	const struct gguf_kv *kv = need(g, key, err);

	if (kv == NULL)
		return DK_ENOTFOUND;
	if (kv->type == GGUF_VT_ARRAY || kv->type == GGUF_VT_STRING || kv->type == GGUF_VT_BOOL ||
	    int_value(kv->type, kv->val, out) != 0)
		return dk_err_set(err, DK_EFORMAT, "gguf key '%s' has type %s, not an integer",
				  key, gguf_vtype_name(kv->type));
	return 0;
}

int gguf_get_u64(const struct gguf *g, const char *key, uint64_t *out, struct dk_err *err)
{
	int64_t v = 0;
	int rc = gguf_get_i64(g, key, &v, err);

	if (rc != 0)
		return rc;
	if (v < 0)
		return dk_err_set(err, DK_EFORMAT, "gguf key '%s' is negative", key);
	*out = (uint64_t)v;
	return 0;
}

int gguf_get_u32(const struct gguf *g, const char *key, uint32_t *out, struct dk_err *err)
{
	uint64_t v = 0;
	int rc = gguf_get_u64(g, key, &v, err);

	if (rc != 0)
		return rc;
	if (v > UINT32_MAX)
		return dk_err_set(err, DK_EFORMAT, "gguf key '%s' value %llu is out of range",
				  key, (unsigned long long)v);
	*out = (uint32_t)v;
	return 0;
}

int gguf_get_f32(const struct gguf *g, const char *key, float *out, struct dk_err *err)
{
	const struct gguf_kv *kv = need(g, key, err);

	if (kv == NULL)
		return DK_ENOTFOUND;
	if (kv->type == GGUF_VT_F32) {
		memcpy(out, kv->val, 4);
	} else if (kv->type == GGUF_VT_F64) {
		double d;
		memcpy(&d, kv->val, 8);
		*out = (float)d;
	} else {
		int64_t v;
		if (kv->type == GGUF_VT_ARRAY || kv->type == GGUF_VT_STRING ||
		    kv->type == GGUF_VT_BOOL || int_value(kv->type, kv->val, &v) != 0)
			return dk_err_set(err, DK_EFORMAT, "gguf key '%s' has type %s, not a number",
					  key, gguf_vtype_name(kv->type));
		*out = (float)v;
	}
	return 0;
}

int gguf_get_bool(const struct gguf *g, const char *key, int *out, struct dk_err *err)
{
	const struct gguf_kv *kv = need(g, key, err);

	if (kv == NULL)
		return DK_ENOTFOUND;
	if (kv->type != GGUF_VT_BOOL)
		return dk_err_set(err, DK_EFORMAT, "gguf key '%s' has type %s, not bool",
				  key, gguf_vtype_name(kv->type));
	*out = kv->val[0] != 0;
	return 0;
}

int gguf_get_str(const struct gguf *g, const char *key, struct gguf_str *out, struct dk_err *err)
{
	const struct gguf_kv *kv = need(g, key, err);
	uint64_t len;

	if (kv == NULL)
		return DK_ENOTFOUND;
	if (kv->type != GGUF_VT_STRING)
		return dk_err_set(err, DK_EFORMAT, "gguf key '%s' has type %s, not string",
				  key, gguf_vtype_name(kv->type));
	memcpy(&len, kv->val, 8);
	out->s = (const char *)kv->val + 8;
	out->len = (size_t)len;
	return 0;
}

int gguf_get_arr(const struct gguf *g, const char *key, uint32_t elem_type,
		 const struct gguf_kv **out, struct dk_err *err)
{
	const struct gguf_kv *kv = need(g, key, err);

	if (kv == NULL)
		return DK_ENOTFOUND;
	if (kv->type != GGUF_VT_ARRAY || kv->arr_type != elem_type)
		return dk_err_set(err, DK_EFORMAT, "gguf key '%s' is not an array of %s",
				  key, gguf_vtype_name(elem_type));
	*out = kv;
	return 0;
}

struct gguf_str gguf_arr_str(const struct gguf_kv *kv, uint64_t i)
{
	const uint8_t *p = kv->val + kv->str_off[i];
	struct gguf_str s;
	uint64_t len;

	memcpy(&len, p, 8);
	s.s = (const char *)p + 8;
	s.len = (size_t)len;
	return s;
}

float gguf_arr_f32(const struct gguf_kv *kv, uint64_t i)
{
	float f;

	memcpy(&f, kv->val + 4 * i, 4);
	return f;
}

int32_t gguf_arr_i32(const struct gguf_kv *kv, uint64_t i)
{
	int32_t v;

	memcpy(&v, kv->val + 4 * i, 4);
	return v;
}

int64_t gguf_arr_int(const struct gguf_kv *kv, uint64_t i)
{
	int64_t v = 0;

	int_value(kv->arr_type, kv->val + i * gguf_vtype_size(kv->arr_type), &v);
	return v;
}
