-- docket store, migration 003: caseworker reviews override the machine.
--
-- reviewed_records: doc_records with the newest "classification" review
-- applied: the label is the caseworker's, confidence 1.0, method
-- "review", needs_review false. doc_records itself stays the pipeline's
-- values: the audit log hashes those (store_results_sha256), and replay
-- compares them with the logged decisions.
--
-- result_records (what "docket export" prints) is rebuilt on
-- reviewed_records, so exports show the reviewed label. Its columns and
-- record shape are those of migration 002.

CREATE VIEW reviewed_records AS
SELECT
	d.id, d.source_name, d.received_at, d.status, d.error_code, d.error_message,
	d.error_stage, d.parent, d.mime, d.format, d.pages, d.text_chars, d.language,
	d.language_confidence,
	coalesce(rv.value, d.classification) AS classification,
	CASE WHEN rv.value IS NULL THEN d.classification_confidence ELSE 1.0 END
		AS classification_confidence,
	CASE WHEN rv.value IS NULL THEN d.classification_method ELSE 'review' END
		AS classification_method,
	CASE WHEN rv.value IS NULL THEN d.needs_review ELSE 0 END AS needs_review,
	d.summary, d.summary_language, d.summary_method, d.language_json,
	CASE WHEN rv.value IS NULL THEN d.classification_json ELSE
		json_object('label', rv.value, 'confidence', 1.0, 'method', 'review',
			    'needs_review', json('false')) END AS classification_json,
	d.entities_json, d.summary_json, d.decisions_json,
	rv.reviewer AS reviewed_by,
	rv.at AS reviewed_at
FROM doc_records d
LEFT JOIN latest_reviews rv ON rv.doc_id = d.id AND rv.field = 'classification'
	AND rv.value IS NOT NULL;

DROP VIEW result_records;

CREATE VIEW result_records AS
SELECT
	r.ord_time, r.ord_seq, r.id, r.source_name, r.received_at, r.status,
	r.error_code, r.error_message, r.parent, r.mime, r.format, r.pages,
	r.text_chars, r.language, r.language_confidence, r.classification,
	r.classification_confidence, r.classification_method, r.needs_review,
	r.summary, r.entities_json, r.decisions_json,
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
		'decisions', json(r.decisions_json)) AS record
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
) AS r;
