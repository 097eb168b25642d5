-- docket store, migration 001: the pipeline foundation.
--
-- Applied once by store_open() inside one transaction, which then sets
-- PRAGMA user_version = 1. Never edit a migration that has shipped: add
-- schemas/NNN_name.sql and list it in pipeline/store_schema.c.
--
-- Conventions: ids are 64 lower-case hex digits (SHA-256 of the file's
-- bytes); times are RFC 3339 UTC text ("2025-03-12T09:30:00.123Z"); byte
-- offsets are UTF-8 byte offsets into texts.text.

-- runs: one row per "docket batch" or "docket watch" session.
CREATE TABLE runs (
	id INTEGER PRIMARY KEY,
	command TEXT NOT NULL,			-- "batch", "watch", ...
	host TEXT,
	pid INTEGER,
	started_at TEXT NOT NULL,
	ended_at TEXT,				-- NULL while running or after a crash
	n_new INTEGER NOT NULL DEFAULT 0,	-- filled by store_run_end()
	n_done INTEGER NOT NULL DEFAULT 0,
	n_failed INTEGER NOT NULL DEFAULT 0,
	n_duplicate INTEGER NOT NULL DEFAULT 0
);

-- documents: one row per distinct content, done or failed. A second copy
-- of the same bytes never adds a row here: it adds a receipt.
CREATE TABLE documents (
	id TEXT PRIMARY KEY CHECK (length(id) = 64 AND id NOT GLOB '*[^0-9a-f]*'),
	source_name TEXT NOT NULL,		-- first name it was dropped as, valid UTF-8
	source_name_bytes BLOB NOT NULL,	-- the same name, bytes as found
	received_at TEXT NOT NULL,
	status TEXT NOT NULL CHECK (status IN ('done', 'failed')),
	error_code TEXT,			-- slug, e.g. "encrypted_pdf"
	error_message TEXT,
	error_stage TEXT,			-- "extract", "sandbox", ...
	parent_id TEXT,				-- container (e-mail) this came from
	size_bytes INTEGER,
	mime TEXT,
	format TEXT,				-- "pdf", "html", "xml", "docx", "odt", "eml", "txt"
	pages INTEGER,
	text_chars INTEGER,			-- Unicode code points in texts.text
	title TEXT,
	author TEXT,
	source_charset TEXT,
	run_id INTEGER REFERENCES runs(id),
	stored_at TEXT NOT NULL,
	CHECK ((status = 'failed') = (error_code IS NOT NULL))
);
-- parent_id has no foreign key on purpose: a child may be stored in the
-- same transaction before its parent, and a foreign key would order them.
CREATE INDEX documents_parent ON documents(parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX documents_received ON documents(received_at);
CREATE INDEX documents_status ON documents(status);

-- receipts: every file that arrived, whatever became of it.
CREATE TABLE receipts (
	id INTEGER PRIMARY KEY,
	claim TEXT UNIQUE,			-- spool's unique claim name: replays are no-ops
	source_name TEXT NOT NULL,
	source_name_bytes BLOB NOT NULL,
	received_at TEXT NOT NULL,
	doc_id TEXT NOT NULL REFERENCES documents(id),
	outcome TEXT NOT NULL CHECK (outcome IN ('new', 'duplicate', 'failed')),
	run_id INTEGER REFERENCES runs(id)
);
CREATE INDEX receipts_doc ON receipts(doc_id);
CREATE INDEX receipts_run ON receipts(run_id);

-- texts: the normalized text every later offset refers to.
CREATE TABLE texts (
	doc_id TEXT PRIMARY KEY REFERENCES documents(id),
	text TEXT NOT NULL,
	sha256 TEXT NOT NULL			-- of the text's bytes
);

-- pages: [start, end) byte ranges of each page in texts.text.
CREATE TABLE pages (
	doc_id TEXT NOT NULL REFERENCES documents(id),
	page_no INTEGER NOT NULL CHECK (page_no >= 1),
	start_byte INTEGER NOT NULL,
	end_byte INTEGER NOT NULL CHECK (end_byte >= start_byte),
	PRIMARY KEY (doc_id, page_no)
) WITHOUT ROWID;

-- stage_timings: wall-clock milliseconds per document and stage.
CREATE TABLE stage_timings (
	doc_id TEXT NOT NULL REFERENCES documents(id),
	run_id INTEGER REFERENCES runs(id),
	stage TEXT NOT NULL,
	ms REAL NOT NULL,
	PRIMARY KEY (doc_id, stage)
) WITHOUT ROWID;
CREATE INDEX stage_timings_run ON stage_timings(run_id);

-- audit_log: append-only hash chain (see pipeline/audit.h).
-- hash = sha256(prev_hash || canonical record) where the canonical record
-- is {"at":..,"doc_id":..,"kind":..,"payload":..,"seq":..} with sorted keys
-- and no whitespace; prev_hash of seq 1 is 64 zeros.
CREATE TABLE audit_log (
	seq INTEGER PRIMARY KEY CHECK (seq >= 1),
	at TEXT NOT NULL,
	kind TEXT NOT NULL,
	doc_id TEXT,
	payload TEXT NOT NULL,			-- canonical JSON
	prev_hash TEXT NOT NULL,
	hash TEXT NOT NULL UNIQUE
);
CREATE INDEX audit_log_doc ON audit_log(doc_id) WHERE doc_id IS NOT NULL;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

-- Later stages. Rows appear as those stages land; export shows null/[]
-- until then.
CREATE TABLE languages (
	doc_id TEXT PRIMARY KEY REFERENCES documents(id),
	code TEXT NOT NULL,			-- ISO 639-1
	confidence REAL NOT NULL,
	method TEXT NOT NULL
);

CREATE TABLE classifications (
	doc_id TEXT PRIMARY KEY REFERENCES documents(id),
	label TEXT NOT NULL,
	confidence REAL NOT NULL,
	method TEXT NOT NULL CHECK (method IN ('llm', 'classifier', 'rules')),
	needs_review INTEGER NOT NULL DEFAULT 0 CHECK (needs_review IN (0, 1))
);

CREATE TABLE entities (
	id INTEGER PRIMARY KEY,
	doc_id TEXT NOT NULL REFERENCES documents(id),
	type TEXT NOT NULL,
	text TEXT NOT NULL,			-- exactly substr of texts.text at [start, end)
	value TEXT,				-- normalized value
	start_byte INTEGER NOT NULL,
	end_byte INTEGER NOT NULL CHECK (end_byte >= start_byte),
	method TEXT NOT NULL CHECK (method IN ('rules', 'llm')),
	confidence REAL NOT NULL
);
CREATE INDEX entities_doc ON entities(doc_id, start_byte);

CREATE TABLE summaries (
	doc_id TEXT PRIMARY KEY REFERENCES documents(id),
	text TEXT NOT NULL,
	language TEXT,
	method TEXT NOT NULL CHECK (method IN ('llm', 'extractive'))
);

-- llm_decisions: what replay needs to re-run one model call.
CREATE TABLE llm_decisions (
	id INTEGER PRIMARY KEY,
	doc_id TEXT NOT NULL REFERENCES documents(id),
	stage TEXT NOT NULL,			-- "classify", "entities", "summarize"
	audit_seq INTEGER NOT NULL REFERENCES audit_log(seq),
	model_sha256 TEXT NOT NULL,
	prompt_sha256 TEXT NOT NULL,
	params TEXT NOT NULL,			-- canonical JSON: seed, temperature, grammar, ...
	input_sha256 TEXT NOT NULL,
	output TEXT NOT NULL
);
CREATE INDEX llm_decisions_doc ON llm_decisions(doc_id);

-- reviews: caseworker overrides; the newest per (doc_id, field) wins.
CREATE TABLE reviews (
	id INTEGER PRIMARY KEY,
	doc_id TEXT NOT NULL REFERENCES documents(id),
	field TEXT NOT NULL CHECK (field IN ('classification', 'language', 'needs_review', 'note')),
	value TEXT,
	reviewer TEXT NOT NULL,
	reason TEXT,
	at TEXT NOT NULL
);
CREATE INDEX reviews_doc ON reviews(doc_id, field, id);
