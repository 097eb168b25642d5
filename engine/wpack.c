/*
 * NAME
 *	wpack - K-quant weights in the matrix tiles' layout, packed once
 * DESIGN NOTES
 *	1. The tile layout (the one rule every reader follows). A packed
 *	   matrix of blocks of bs bytes, nb per row, has its first
 *	   n_out & ~15 rows in tiles of 16 consecutive rows; each tile keeps
 *	   its 16 * nb * bs bytes. In a tile, super-block b (the 16 rows'
 *	   block b) fills bytes [16 b bs, 16 (b + 1) bs); there dword k
 *	   (bytes 4k..4k + 3) of row r's block sits at 64 k + 4 r for
 *	   k < W = bs / 4 (column k: one 64-byte vector, lane = row), and
 *	   the last e = bs % 4 bytes of row r at 64 W + e r. Q4_K (144 B):
 *	   columns 0..3 d, dmin and scales, 4..35 the nibbles. Q6_K
 *	   (210 B): columns 0..31 ql, 32..47 qh, 48..51 scales, then the 16
 *	   rows' d. Rows past the last full tile stay as in the file.
 *	2. Why: the AVX-512 tiles used to transpose every super-block of
 *	   every 16 rows on every call into such columns (mm_k.c notes 1,
 *	   10), 59 ns (Q4_K) and 79 ns (Q6_K) per call and super-block, as
 *	   much as 2-3 tokens' work; now they load the columns (mm_k.c note
 *	   12). The layout has the file's size, so the transform is done in
 *	   place in the model's private resident copy (engine/gguf.c note 6),
 *	   writable only while it runs: no second copy of the weights.
 *	3. Who packs: eng_model_load(), for the types the CPU's kernel table
 *	   (eng_kernels_select) has a packed tile for (mm_packed), so the
 *	   model is immutable once loaded and every context sees the packed
 *	   flag, whatever table it uses. matmul runs the packed tile on
 *	   full tiles and reads rows through eng_mat_row() everywhere else
 *	   (the reference table, a tail tile, types without a packed tile);
 *	   the embedding lookup uses eng_mat_dequant_row(). A tied output
 *	   shares tok_embd's bytes: packed once, both flags set.
 *	4. The packing is a plain transposition through a per-thread tile
 *	   buffer, tiles split over a pool of up to PACK_THREADS (the online
 *	   CPUs): gemma3-4b Q4_K_M (2.5 GB, most of it packed) adds about
 *	   0.6 s of CPU, 0.3 s on 2 threads, to a load of 1.3 s or more; it
 *	   is bound by memory traffic (read, tile buffer, write back), so a
 *	   vectorized transposition would gain little.
 */
#include "engine/wpack.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/ref/quants.h"

#define TILE_ROWS 16
#define PACK_THREADS 8	/* most workers packing a model (note 4) */
#define MAX_BLOCK 256	/* largest block packed: eng_mat_dequant_row's buffer */

/* eng_wpack_tile - see wpack.h (note 1) */
void eng_wpack_tile(uint8_t *w, size_t bs, int64_t nb, uint8_t *tmp)
{
	size_t rb = (size_t)nb * bs, W = bs / 4, e = bs % 4;

	for (int64_t b = 0; b < nb; b++) {
		const uint8_t *src = w + (size_t)b * bs;
		uint8_t *dst = tmp + (size_t)b * TILE_ROWS * bs;
		for (size_t k = 0; k < W; k++)
			for (int r = 0; r < TILE_ROWS; r++)
				memcpy(dst + 64 * k + 4 * (size_t)r, src + (size_t)r * rb + 4 * k, 4);
		for (int r = 0; r < TILE_ROWS; r++)
			memcpy(dst + 64 * W + e * (size_t)r, src + (size_t)r * rb + 4 * W, e);
	}
	memcpy(w, tmp, TILE_ROWS * rb);
}

/* eng_wpack_block - see wpack.h (note 1) */
void eng_wpack_block(const uint8_t *sb, size_t bs, int r, uint8_t *dst)
{
	size_t W = bs / 4, e = bs % 4;

	for (size_t k = 0; k < W; k++)
		memcpy(dst + 4 * k, sb + 64 * k + 4 * (size_t)r, 4);
	memcpy(dst + 4 * W, sb + 64 * W + e * (size_t)r, e);
}

/* packed_row - whether row r of w lies in the tile layout */
static int packed_row(const struct eng_mat *w, int64_t r)
{
	return w->packed && r < (w->n_out & ~(int64_t)(TILE_ROWS - 1));
}

/* eng_mat_row - see wpack.h */
const uint8_t *eng_mat_row(const struct eng_mat *w, int64_t r, uint8_t *buf)
{
	size_t bs = ggml_type_traits(w->type)->type_size;
	int64_t nb = (int64_t)(w->row_bytes / bs);

	if (!packed_row(w, r))
		return w->data + (size_t)r * w->row_bytes;
	const uint8_t *tile = w->data + (size_t)(r & ~(int64_t)(TILE_ROWS - 1)) * w->row_bytes;
	for (int64_t b = 0; b < nb; b++)
		eng_wpack_block(tile + (size_t)b * TILE_ROWS * bs, bs, (int)(r % TILE_ROWS), buf + (size_t)b * bs);
	return buf;
}

/* eng_mat_dequant_row - see wpack.h: block by block, no row buffer */
void eng_mat_dequant_row(const struct eng_mat *w, int64_t r, float *dst)
{
	const struct ggml_type_traits *tt = ggml_type_traits(w->type);
	int64_t nb = w->n_in / tt->blck_size;
	uint8_t blk[MAX_BLOCK];	/* wants() packs no larger block */

	if (!packed_row(w, r)) {
		(void)ref_dequant_row(w->type, w->data + (size_t)r * w->row_bytes, dst, w->n_in);
		return;
	}
	const uint8_t *tile = w->data + (size_t)(r & ~(int64_t)(TILE_ROWS - 1)) * w->row_bytes;
	for (int64_t b = 0; b < nb; b++) {
		eng_wpack_block(tile + (size_t)b * TILE_ROWS * tt->type_size, tt->type_size, (int)(r % TILE_ROWS),
				blk);
		(void)ref_dequant_row(w->type, blk, dst + b * tt->blck_size, tt->blck_size);
	}
}

/* struct pack_job - one matrix's tiles over the pool (note 4) */
struct pack_job {
	uint8_t *w;
	size_t bs;
	int64_t nb, n_tiles;
	uint8_t *tmp;		/* (n_threads, tmp_stride) */
	size_t tmp_stride;
};

static void pack_worker(void *arg, int ith, int nth)
{
	const struct pack_job *j = arg;
	int64_t lo, hi;

	thr_split(j->n_tiles, ith, nth, &lo, &hi);
	for (int64_t t = lo; t < hi; t++)
		eng_wpack_tile(j->w + (size_t)t * TILE_ROWS * (size_t)j->nb * j->bs, j->bs, j->nb,
			       j->tmp + (size_t)ith * j->tmp_stride);
}

/* mats - every weight matrix of m into v (room for 2 + 8 n_layer) */
static size_t mats(struct eng_model *m, struct eng_mat **v)
{
	size_t n = 0;

	v[n++] = &m->tok_embd;
	v[n++] = &m->output;
	for (uint32_t il = 0; il < m->hp.n_layer; il++) {
		struct eng_layer *L = &m->layers[il];
		struct eng_mat *l[] = { &L->wq, &L->wk, &L->wv, &L->wqkv, &L->wo, &L->w_gate, &L->w_up,
					&L->w_down };
		for (size_t i = 0; i < sizeof l / sizeof l[0]; i++)
			v[n++] = l[i];
	}
	return n;
}

/* wants - whether w is to be packed for table k (note 3) */
static int wants(const struct eng_mat *w, const struct eng_kernels *k)
{
	return w->data != NULL && !w->packed && k->mm_packed[w->type] != NULL && w->n_out >= TILE_ROWS &&
	       ggml_type_traits(w->type)->type_size <= MAX_BLOCK;
}

/* pack_all - every matrix wants() into the tile layout, over pool (note 4) */
static void pack_all(struct eng_mat **v, size_t n, const struct eng_kernels *k, struct thr_pool *pool,
		     struct pack_job *j)
{
	for (size_t i = 0; i < n; i++) {
		if (!wants(v[i], k))
			continue;
		j->w = (uint8_t *)v[i]->data;
		j->bs = ggml_type_traits(v[i]->type)->type_size;
		j->nb = (int64_t)(v[i]->row_bytes / j->bs);
		j->n_tiles = v[i]->n_out / TILE_ROWS;
		thr_pool_run(pool, pack_worker, j);
		for (size_t o = 0; o < n; o++)	/* tied matrices: note 3 */
			if (v[o]->data == v[i]->data)
				v[o]->packed = 1;
	}
}

/* eng_wpack_model - see wpack.h (notes 2, 3) */
int eng_wpack_model(struct eng_model *m, const struct eng_kernels *k, struct dk_err *err)
{
	struct eng_mat **v = malloc((2 + 8 * (size_t)m->hp.n_layer) * sizeof *v);
	struct thr_pool *pool = NULL;
	struct pack_job j = { 0 };
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int nth = cpus < 1 ? 1 : cpus > PACK_THREADS ? PACK_THREADS : (int)cpus;
	size_t n = 0;
	int any = 0, rc = 0;

	if (v == NULL)
		return dk_err_set(err, DK_ENOMEM, "out of memory packing the weights");
	n = mats(m, v);
	for (size_t i = 0; i < n; i++)
		if (wants(v[i], k)) {
			any = 1;
			if (TILE_ROWS * v[i]->row_bytes > j.tmp_stride)
				j.tmp_stride = TILE_ROWS * v[i]->row_bytes;
		}
	/* only our resident copy is rewritten; a borrowed buffer
	 * (gguf_open_buffer) or a mapped file stays as it is: no flag set */
	if (any && m->g->resident) {
		if ((j.tmp = malloc((size_t)nth * j.tmp_stride)) == NULL)
			rc = dk_err_set(err, DK_ENOMEM, "out of memory packing the weights");
		if (rc == 0)
			rc = thr_pool_new(nth, &pool, err);
		if (rc == 0 && gguf_set_writable(m->g, 1) != 0)
			rc = dk_err_set(err, DK_EIO, "cannot make the weights writable to pack them");
		if (rc == 0) {
			pack_all(v, n, k, pool, &j);
			(void)gguf_set_writable(m->g, 0);
		}
	}
	thr_pool_free(pool);
	free(j.tmp);
	free(v);
	return rc;
}
