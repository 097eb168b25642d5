/*
 * NAME
 *	llm_wire - a model result (struct llm_result) as an ipc payload
 * SUMMARY
 *	The engine process answers each document with its llm_result; the
 *	supervisor forwards it unread to the writer, which stores it. The
 *	result travels as one nested ipc payload (its own tag space, so it
 *	cannot collide with the document's fields):
 *	    llm_wire_put()  appends it to a message under one tag;
 *	    llm_wire_get()  rebuilds the llm_result from that field's bytes.
 *	Entities carry only type and byte span: their text is cut again from
 *	the stored document text, so what is stored is verbatim by
 *	construction even if the payload was damaged.
 * OWNERSHIP
 *	llm_wire_get() fills a caller-owned struct llm_result (release it with
 *	llm_result_release()); text is borrowed for the call.
 * LIFETIME
 *	Nothing kept between calls.
 * THREADS
 *	Safe (no shared state).
 * ERRORS
 *	DK_ENOMEM; DK_EFORMAT for a malformed or incomplete payload (a result
 *	has its three decisions) or an entity span that is not inside text on
 *	character boundaries.
 */
#ifndef DK_LLM_WIRE_H
#define DK_LLM_WIRE_H

#include <stddef.h>

#include "pipeline/ipc.h"
#include "stages/llm.h"
#include "util/dk_err.h"

/* llm_wire_put - append r (from a model with SHA-256 model_sha) to m under tag */
int llm_wire_put(struct ipc_msg *m, unsigned char tag, const struct llm_result *r,
		 const char *model_sha);

/* llm_wire_get - r and model_sha from a payload made by llm_wire_put(), against text[0..len) */
int llm_wire_get(const char *data, size_t n, const char *text, size_t len,
		 struct llm_result *r, char model_sha[65], struct dk_err *err);

#endif
