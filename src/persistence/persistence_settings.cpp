#include "persistence/persistence_settings.hpp"

#include <filesystem>

namespace gatewayd::persistence {

MySqlOptions mysql_options_from(const Settings& settings) {
  MySqlOptions o;
  o.host = settings.get("MYSQL_HOST");
  o.port = static_cast<std::uint16_t>(settings.get_int("MYSQL_PORT"));
  o.user = settings.get("MYSQL_USER");
  o.password = settings.get("MYSQL_PASSWORD");
  o.database = settings.get("MYSQL_DATABASE");
  const auto timeout = settings.get_duration("MYSQL_CONNECT_TIMEOUT_MS");
  o.connect_timeout = timeout;
  // Reads and writes of a batch get more room than the connect: a busy server is not a dead one.
  o.read_timeout = std::max(timeout * 3, std::chrono::milliseconds(10'000));
  o.write_timeout = o.read_timeout;
  return o;
}

PersistenceOptions persistence_options_from(const Settings& settings) {
  PersistenceOptions o;
  o.enabled = settings.get_bool("MYSQL_ENABLED");
  o.mysql = mysql_options_from(settings);
  o.batch_size = static_cast<std::size_t>(settings.get_int("MYSQL_BATCH_SIZE"));
  o.flush_interval = settings.get_duration("MYSQL_FLUSH_INTERVAL_MS");
  o.queue_capacity = static_cast<std::size_t>(settings.get_int("MYSQL_QUEUE_CAPACITY"));
  o.spool_path = std::filesystem::path(settings.data_directory) / "records.spool";
  o.spool_max_bytes = static_cast<std::uint64_t>(settings.get_int("SPOOL_MAX_BYTES"));
  // The resolved id (CLUSTER_NODE_ID, else the host name), as /health and the logs show it.
  o.node_id = settings.node_id;
  o.request_sample_rate = settings.get_double("REQUEST_LOG_SAMPLE_RATE");
  return o;
}

}  // namespace gatewayd::persistence
