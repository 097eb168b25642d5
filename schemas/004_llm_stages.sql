-- docket store, migration 004: what became of each model stage.
--
-- llm_stages: one row per document and model stage (classify, entities,
-- summarize) of a done document with text: "done" (its decision is in
-- llm_decisions), "skipped" (no model configured, or no text to read) or
-- "failed" (the model run failed; the rule and classifier results stand).
-- A log line alone would leave an auditor unable to tell a document the
-- model never saw from one whose model results were lost.
--
-- result_records gains "llm_stages" as its LAST key, so readers of
-- migration 003's record (and CSV readers counting columns) see the same
-- fields in the same places.

CREATE TABLE llm_stages (
	doc_id TEXT NOT NULL REFERENCES documents(id),
	stage TEXT NOT NULL CHECK (stage IN ('classify', 'entities', 'summarize')),
	status TEXT NOT NULL CHECK (status IN ('done', 'skipped', 'failed')),
	reason TEXT,				-- skipped/failed: slug or one-line message
	PRIMARY KEY (doc_id, stage)
) WITHOUT ROWID;

-- llm_stages_json: the rows in stage order (classify, entities, summarize)
CREATE VIEW llm_stages_json AS
SELECT doc_id, json_group_array(json_object('stage', stage, 'status', status,
		'reason', reason)) AS stages
FROM (SELECT * FROM llm_stages ORDER BY doc_id,
	CASE stage WHEN 'classify' THEN 1 WHEN 'entities' THEN 2 ELSE 3 END)
GROUP BY doc_id;

DROP VIEW result_records;

CREATE VIEW result_records AS
SELECT
	r.ord_time, r.ord_seq, r.id, r.source_name, r.received_at, r.status,
	r.error_code, r.error_message, r.parent, r.mime, r.format, r.pages,
	r.text_chars, r.language, r.language_confidence, r.classification,
	r.classification_confidence, r.classification_method, r.needs_review,
	r.summary, r.entities_json, r.decisions_json,
	coalesce(ls.stages, '[]') AS llm_stages_json,
	json_object(
		'id', r.id,
		'source_name', r.source_name,
		'received_at', r.received_at,
		'status', r.status,
		'error', json(CASE WHEN r.error_code IS NULL THEN NULL ELSE
			json_object('code', r.error_code, 'message', coalesce(r.error_message, ''))
			END),
		'parent', r.parent,
		'mime', r.mime,
		'pages', r.pages,
		'text_chars', r.text_chars,
		'language', json(r.language_json),
		'classification', json(r.classification_json),
		'entities', json(r.entities_json),
		'summary', json(r.summary_json),
		'decisions', json(r.decisions_json),
		'llm_stages', json(coalesce(ls.stages, '[]'))) AS record
FROM (
	SELECT d.received_at AS ord_time, 0 AS ord_seq, d.id, d.source_name, d.received_at,
		d.status, d.error_code, d.error_message, d.error_stage, d.parent, d.mime,
		d.format, d.pages, d.text_chars, d.language, d.language_confidence,
		d.classification, d.classification_confidence, d.classification_method,
		d.needs_review, d.summary, d.summary_language, d.summary_method,
		d.language_json, d.classification_json, d.entities_json, d.summary_json,
		d.decisions_json
	FROM reviewed_records d
	UNION ALL
	SELECT rc.received_at, rc.id, d.id, rc.source_name, rc.received_at, 'duplicate',
		NULL, NULL, NULL, d.parent, d.mime, d.format, d.pages, d.text_chars,
		d.language, d.language_confidence, d.classification,
		d.classification_confidence, d.classification_method, d.needs_review,
		d.summary, d.summary_language, d.summary_method, d.language_json,
		d.classification_json, d.entities_json, d.summary_json, '[]'
	FROM receipts rc JOIN reviewed_records d ON d.id = rc.doc_id
	WHERE rc.outcome = 'duplicate'
) AS r
LEFT JOIN llm_stages_json ls ON ls.doc_id = r.id;
