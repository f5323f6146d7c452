functionName: handshake-janitor and failed |
SELECT
  from_unixtime(__time__) AS time,
  json_extract_scalar(message, '$.handshake_id') AS handshake_id,
  json_extract_scalar(message, '$.error_code') AS error_code,
  json_extract_scalar(message, '$.error') AS error,
  json_extract_scalar(message, '$.attempts') AS attempts,
  json_extract_scalar(message, '$.trigger') AS trigger,
  json_extract_scalar(message, '$.invocation_id') AS invocation_id
FROM log
WHERE json_extract_scalar(message, '$.outcome') = 'failed'
ORDER BY time DESC
LIMIT 1000
