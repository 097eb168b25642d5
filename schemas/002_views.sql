-- docket store, migration 002: read-side views.
--
-- result_records: one row per result record of "docket export" (DESIGN
-- section 4): every document, plus one "duplicate" row per later copy of
-- the same bytes. record is the JSON object, keys in the documented order.
-- Pipeline values only; caseworker reviews do not change export (replay
-- compares these values with the logged decisions).
--
-- caseworker_documents: one row per document with readable column names
-- and the newest review override applied.

CREATE VIEW doc_records AS
SELECT
	d.id AS id,
	d.source_name AS source_name,
	d.received_at AS received_at,
	d.status AS status,
	d.error_code AS error_code,
	d.error_message AS error_message,
	d.error_stage AS error_stage,
	d.parent_id AS parent,
	d.mime AS mime,
	d.format AS format,
	d.pages AS pages,
	d.text_chars AS text_chars,
	l.code AS language,
	l.confidence AS language_confidence,
	c.label AS classification,
	c.confidence AS classification_confidence,
	c.method AS classification_method,
	c.needs_review AS needs_review,
	s.text AS summary,
	s.language AS summary_language,
	s.method AS summary_method,
	json(CASE WHEN l.doc_id IS NULL THEN NULL ELSE
		json_object('code', l.code, 'confidence', l.confidence) END) AS language_json,
	json(CASE WHEN c.doc_id IS NULL THEN NULL ELSE
		json_object('label', c.label, 'confidence', c.confidence, 'method', c.method,
			    'needs_review', json(CASE WHEN c.needs_review THEN 'true' ELSE 'false' END))
		END) AS classification_json,
	json((SELECT json_group_array(json_object('type', e.type, 'text', e.text,
			'value', e.value, 'start', e.start_byte, 'end', e.end_byte,
			'method', e.method, 'confidence', e.confidence))
	      FROM (SELECT * FROM entities WHERE doc_id = d.id
		    ORDER BY start_byte, end_byte, id) AS e)) AS entities_json,
	json(CASE WHEN s.doc_id IS NULL THEN NULL ELSE
		json_object('text', s.text, 'language', s.language, 'method', s.method)
		END) AS summary_json,
	json((SELECT json_group_array(a.hash)
	      FROM (SELECT hash FROM audit_log WHERE doc_id = d.id AND kind = 'decision'
		    ORDER BY seq) AS a)) AS decisions_json
FROM documents d
LEFT JOIN languages l ON l.doc_id = d.id
LEFT JOIN classifications c ON c.doc_id = d.id
LEFT JOIN summaries s ON s.doc_id = d.id;

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
	SELECT d.received_at AS ord_time, 0 AS ord_seq, d.*
	FROM doc_records d
	UNION ALL
	SELECT rc.received_at, rc.id, d.id, rc.source_name, rc.received_at, 'duplicate',
		NULL, NULL, NULL, d.parent, d.mime, d.format, d.pages, d.text_chars,
		d.language, d.language_confidence, d.classification,
		d.classification_confidence, d.classification_method, d.needs_review,
		d.summary, d.summary_language, d.summary_method, d.language_json,
		d.classification_json, d.entities_json, d.summary_json, '[]'
	FROM receipts rc JOIN doc_records d ON d.id = rc.doc_id
	WHERE rc.outcome = 'duplicate'
) AS r;

-- latest_reviews: the newest override per document and field.
CREATE VIEW latest_reviews AS
SELECT rv.doc_id, rv.field, rv.value, rv.reviewer, rv.at
FROM reviews rv
WHERE rv.id = (SELECT max(id) FROM reviews x WHERE x.doc_id = rv.doc_id AND x.field = rv.field);

CREATE VIEW caseworker_documents AS
SELECT
	d.id AS document_id,
	d.source_name AS file_name,
	d.received_at AS received,
	d.status AS status,
	CASE WHEN d.error_code IS NULL THEN NULL
	     ELSE d.error_code || ': ' || coalesce(d.error_message, '') END AS problem,
	coalesce(d.format, d.mime) AS file_type,
	d.pages AS pages,
	coalesce(rl.value, l.code) AS language,
	coalesce(rc.value, c.label) AS category,
	CASE WHEN rc.value IS NOT NULL THEN NULL ELSE c.confidence END AS category_confidence,
	CASE WHEN rn.value IS NOT NULL THEN rn.value IN ('1', 'yes', 'true')
	     WHEN rc.value IS NOT NULL THEN 0
	     ELSE c.needs_review END AS needs_review,
	s.text AS summary,
	(SELECT count(*) FROM reviews x WHERE x.doc_id = d.id) > 0 AS reviewed,
	(SELECT group_concat(reviewer, ', ') FROM (SELECT DISTINCT reviewer FROM reviews x
	 WHERE x.doc_id = d.id)) AS reviewed_by,
	(SELECT count(*) FROM receipts x WHERE x.doc_id = d.id) AS copies_received,
	d.parent_id AS attached_to
FROM documents d
LEFT JOIN languages l ON l.doc_id = d.id
LEFT JOIN classifications c ON c.doc_id = d.id
LEFT JOIN summaries s ON s.doc_id = d.id
LEFT JOIN latest_reviews rl ON rl.doc_id = d.id AND rl.field = 'language'
LEFT JOIN latest_reviews rc ON rc.doc_id = d.id AND rc.field = 'classification'
LEFT JOIN latest_reviews rn ON rn.doc_id = d.id AND rn.field = 'needs_review';
