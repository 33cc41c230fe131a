-- gatewayd database schema.
--
-- Runs unchanged on MySQL 8.0+ and MariaDB 10.11+, and is idempotent: apply it as often as you
-- like, with the client (`mysql -u root -p < init_database.sql`) or with `gatewayd --init-db`
-- (which compiles this file in and uses MYSQL_DATABASE instead of the name below).
-- Times are UTC (gatewayd sets time_zone = '+00:00' on its sessions). Text is utf8mb4 with binary
-- collation: paths, ids and keys compare exactly, as the gateway matches them.
-- No clear API key is ever stored: api_keys holds a hash only.

-- gatewayd:database-begin
CREATE DATABASE IF NOT EXISTS gateway_db CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
USE gateway_db;
-- gatewayd:database-end

-- One row per applied schema version. gatewayd refuses nothing based on it today; it tells an
-- operator (and later migrations) what a database holds.
CREATE TABLE IF NOT EXISTS schema_version (
  version INT UNSIGNED NOT NULL,
  description VARCHAR(255) NOT NULL DEFAULT '',
  applied_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (version)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS api_keys (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  api_key_hash VARCHAR(128) NOT NULL,
  user_id VARCHAR(128) NOT NULL,
  tenant_id VARCHAR(128) NULL,
  name VARCHAR(255) NOT NULL DEFAULT '',
  permissions JSON NULL,
  rate_limit_per_minute INT UNSIGNED NULL,
  rate_limit_per_hour INT UNSIGNED NULL,
  is_active TINYINT(1) NOT NULL DEFAULT 1,
  expires_at DATETIME(3) NULL,
  created_by VARCHAR(128) NULL,
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  last_used_at DATETIME(3) NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uk_api_keys_hash (api_key_hash),
  KEY idx_api_keys_user (user_id),
  KEY idx_api_keys_tenant (tenant_id),
  KEY idx_api_keys_created (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Routes managed through the admin API; merged with routes.yaml. `methods` is the upper-case,
-- comma-separated, sorted method list; `timeout` is in seconds; `extra` holds gatewayd's richer
-- route fields (host, retry, scopes, ...) as a JSON object.
CREATE TABLE IF NOT EXISTS routes (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  name VARCHAR(255) NOT NULL,
  path VARCHAR(512) NOT NULL,
  service_name VARCHAR(128) NOT NULL,
  methods VARCHAR(128) NOT NULL DEFAULT 'GET',
  auth_required TINYINT(1) NOT NULL DEFAULT 1,
  rate_limit INT UNSIGNED NULL,
  timeout INT UNSIGNED NOT NULL DEFAULT 30,
  strip_prefix TINYINT(1) NOT NULL DEFAULT 0,
  rewrite_path VARCHAR(512) NULL,
  priority INT NOT NULL DEFAULT 0,
  is_active TINYINT(1) NOT NULL DEFAULT 1,
  extra JSON NULL,
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (id),
  UNIQUE KEY uk_routes_path_methods (path, methods),
  UNIQUE KEY uk_routes_name (name),
  KEY idx_routes_service (service_name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS service_instances (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  service_name VARCHAR(128) NOT NULL,
  instance_url VARCHAR(512) NOT NULL,
  instance_id VARCHAR(255) NULL,
  weight INT UNSIGNED NOT NULL DEFAULT 1,
  is_healthy TINYINT(1) NOT NULL DEFAULT 1,
  health_check_path VARCHAR(255) NULL,
  health_check_interval INT UNSIGNED NULL,
  last_health_check DATETIME(3) NULL,
  failure_count INT UNSIGNED NOT NULL DEFAULT 0,
  metadata JSON NULL,
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (id),
  UNIQUE KEY uk_service_instances (service_name, instance_url),
  KEY idx_service_instances_updated (updated_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Aggregated per identifier, window and route: the gateway adds counts with an upsert, it never
-- writes one row per request.
CREATE TABLE IF NOT EXISTS rate_limit_records (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  identifier VARCHAR(255) NOT NULL,
  window_type VARCHAR(32) NOT NULL,
  route_path VARCHAR(255) NOT NULL DEFAULT '',
  request_count BIGINT UNSIGNED NOT NULL DEFAULT 0,
  window_start DATETIME(3) NOT NULL,
  window_end DATETIME(3) NOT NULL,
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (id),
  UNIQUE KEY uk_rate_limit_records (identifier, window_type, route_path, window_start),
  KEY idx_rate_limit_records_window (window_start),
  KEY idx_rate_limit_records_route (route_path, window_start),
  KEY idx_rate_limit_records_created (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS circuit_breaker_states (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  service_name VARCHAR(128) NOT NULL,
  state VARCHAR(16) NOT NULL,
  failure_count INT UNSIGNED NOT NULL DEFAULT 0,
  success_count INT UNSIGNED NOT NULL DEFAULT 0,
  last_failure_time DATETIME(3) NULL,
  last_state_change DATETIME(3) NULL,
  updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (id),
  UNIQUE KEY uk_circuit_breaker_states_service (service_name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS audit_logs (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  event_type VARCHAR(64) NOT NULL,
  user_id VARCHAR(128) NULL,
  ip_address VARCHAR(64) NULL,
  user_agent VARCHAR(512) NULL,
  details JSON NULL,
  request_id VARCHAR(128) NULL,
  node_id VARCHAR(64) NULL,
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (id),
  KEY idx_audit_logs_created (created_at),
  KEY idx_audit_logs_event (event_type, created_at),
  KEY idx_audit_logs_user (user_id, created_at),
  KEY idx_audit_logs_request (request_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One row per request. request_id is unique so that a batch replayed from the spool after a crash
-- (between the commit and the spool truncation) cannot duplicate rows: the writer inserts with
-- INSERT IGNORE. Every index costs the database a B-tree insert per request, so there are only
-- those the admin queries need: by time, request id, user and route. Filters on status or service
-- walk idx_gateway_logs_created newest first, which is also the order they return.
CREATE TABLE IF NOT EXISTS gateway_logs (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  request_id VARCHAR(128) NOT NULL,
  method VARCHAR(16) NOT NULL,
  path VARCHAR(2048) NOT NULL,
  route VARCHAR(255) NOT NULL DEFAULT '',
  target_service VARCHAR(128) NOT NULL DEFAULT '',
  user_id VARCHAR(128) NULL,
  client_ip VARCHAR(64) NOT NULL DEFAULT '',
  status_code SMALLINT UNSIGNED NOT NULL,
  response_time_ms DOUBLE NOT NULL DEFAULT 0,
  error_code VARCHAR(64) NULL,
  trace_id VARCHAR(64) NULL,
  node_id VARCHAR(64) NULL,
  created_at DATETIME(3) NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uk_gateway_logs_request_id (request_id),
  KEY idx_gateway_logs_created (created_at),
  KEY idx_gateway_logs_route (route, created_at),
  KEY idx_gateway_logs_user (user_id, created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Version 2: a version-1 gateway_logs also had idx_gateway_logs_service and
-- idx_gateway_logs_status. MySQL 8 has no DROP INDEX IF EXISTS, so the ALTER is built from
-- information_schema (a no-op DO 0 once they are gone); both drops are in-place in InnoDB.
SET @gatewayd_sql = (
  SELECT COALESCE(CONCAT('ALTER TABLE gateway_logs ',
                         GROUP_CONCAT(DISTINCT CONCAT('DROP INDEX ', index_name)
                                      ORDER BY index_name SEPARATOR ', ')),
                  'DO 0')
  FROM information_schema.statistics
  WHERE table_schema = DATABASE() AND table_name = 'gateway_logs'
    AND index_name IN ('idx_gateway_logs_service', 'idx_gateway_logs_status'));
PREPARE gatewayd_stmt FROM @gatewayd_sql;
EXECUTE gatewayd_stmt;
DEALLOCATE PREPARE gatewayd_stmt;
SET @gatewayd_sql = NULL;

CREATE TABLE IF NOT EXISTS rate_limit_rules (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  rule_name VARCHAR(128) NOT NULL,
  limit_type VARCHAR(32) NOT NULL,
  path_pattern VARCHAR(512) NULL,
  max_requests INT UNSIGNED NOT NULL,
  window_seconds INT UNSIGNED NOT NULL,
  burst INT UNSIGNED NULL,
  is_active TINYINT(1) NOT NULL DEFAULT 1,
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (id),
  UNIQUE KEY uk_rate_limit_rules_name (rule_name),
  KEY idx_rate_limit_rules_active (is_active),
  CONSTRAINT chk_rate_limit_rules_type
    CHECK (limit_type IN ('per_user', 'per_ip', 'per_endpoint', 'per_api_key', 'global')),
  CONSTRAINT chk_rate_limit_rules_window CHECK (window_seconds > 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Gateway-wide settings the admin API edits at run time (CORS, ...), one JSON value per name.
CREATE TABLE IF NOT EXISTS gateway_settings (
  name VARCHAR(128) NOT NULL,
  value JSON NULL,
  updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Replay progress of each gateway's local spool file, committed in the same transaction as the
-- replayed rows, so a crash between that commit and the spool truncation replays nothing twice.
-- spool_id names one generation of one spool file (it changes at every truncation).
CREATE TABLE IF NOT EXISTS spool_checkpoints (
  spool_id VARCHAR(64) NOT NULL,
  committed_offset BIGINT UNSIGNED NOT NULL,
  node_id VARCHAR(64) NULL,
  updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (spool_id),
  KEY idx_spool_checkpoints_updated (updated_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

INSERT IGNORE INTO schema_version (version, description) VALUES (1, 'initial schema');
INSERT IGNORE INTO schema_version (version, description)
  VALUES (2, 'gateway_logs without the status and service indexes');
