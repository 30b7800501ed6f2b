-- Requests seen by the open-proxy trap, per UTC day, in the same rollup as the relay attempts.
ALTER TABLE attempt_days ADD COLUMN proxy_requests INTEGER NOT NULL DEFAULT 0;

INSERT INTO attempt_days (day, proxy_requests)
SELECT date(at / 1000, 'unixepoch'), COUNT(*) FROM proxy_requests GROUP BY 1
ON CONFLICT (day) DO UPDATE SET proxy_requests = excluded.proxy_requests;

CREATE TRIGGER attempt_days_proxy_request AFTER INSERT ON proxy_requests BEGIN
  INSERT INTO attempt_days (day, proxy_requests) VALUES (date(new.at / 1000, 'unixepoch'), 1)
  ON CONFLICT (day) DO UPDATE SET proxy_requests = proxy_requests + 1;
END;
