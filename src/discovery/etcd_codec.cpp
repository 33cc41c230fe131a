#include "discovery/etcd_codec.hpp"

#include <array>
#include <charconv>
#include <nlohmann/json.hpp>

namespace gatewayd::discovery {

namespace {

using nlohmann::json;

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// etcd encodes int64 as strings; accept numbers too.
std::int64_t int64_member(const json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end()) return 0;
  if (it->is_number_integer()) return it->get<std::int64_t>();
  if (it->is_string()) {
    const auto& s = it->get_ref<const std::string&>();
    std::int64_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc{} && end == s.data() + s.size()) return v;
  }
  return 0;
}

bool bool_member(const json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_boolean() && it->get<bool>();
}

std::optional<EtcdKeyValue> decode_kv(const json& kv) {
  if (!kv.is_object()) return std::nullopt;
  EtcdKeyValue out;
  const auto key = kv.find("key");
  if (key == kv.end() || !key->is_string()) return std::nullopt;
  auto k = base64_decode(key->get<std::string>());
  if (!k) return std::nullopt;
  out.key = std::move(*k);
  if (const auto value = kv.find("value"); value != kv.end() && value->is_string()) {
    auto v = base64_decode(value->get<std::string>());
    if (!v) return std::nullopt;
    out.value = std::move(*v);
  }
  out.mod_revision = int64_member(kv, "mod_revision");
  return out;
}

}  // namespace

std::string base64_encode(std::string_view data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    const auto n = (static_cast<std::uint32_t>(static_cast<unsigned char>(data[i])) << 16) |
                   (static_cast<std::uint32_t>(static_cast<unsigned char>(data[i + 1])) << 8) |
                   static_cast<unsigned char>(data[i + 2]);
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(kAlphabet[(n >> 6) & 63]);
    out.push_back(kAlphabet[n & 63]);
  }
  if (i < data.size()) {
    std::uint32_t n = static_cast<std::uint32_t>(static_cast<unsigned char>(data[i])) << 16;
    if (i + 1 < data.size()) {
      n |= static_cast<std::uint32_t>(static_cast<unsigned char>(data[i + 1])) << 8;
    }
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(i + 1 < data.size() ? kAlphabet[(n >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  static const auto table = [] {
    std::array<std::int8_t, 256> t{};
    t.fill(-1);
    for (int i = 0; i < 64; ++i)
      t[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::int8_t>(i);
    return t;
  }();
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (const char c : text) {
    const auto v = table[static_cast<unsigned char>(c)];
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

std::string prefix_range_end(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(end.back());
    if (last < 0xFF) {
      ++last;
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');
}

std::string etcd_range_body(std::string_view prefix) {
  return json{{"key", base64_encode(prefix)},
              {"range_end", base64_encode(prefix_range_end(prefix))}}
      .dump();
}

std::optional<EtcdRange> parse_etcd_range(std::string_view body, std::string* error) {
  const auto fail = [error](std::string why) -> std::optional<EtcdRange> {
    if (error != nullptr) *error = std::move(why);
    return std::nullopt;
  };
  const json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return fail("etcd: range answer is not JSON");
  const auto header = doc.find("header");
  if (header == doc.end() || !header->is_object()) return fail("etcd: range answer has no header");
  EtcdRange out;
  out.revision = int64_member(*header, "revision");
  if (out.revision <= 0) return fail("etcd: range answer has no revision");
  if (const auto kvs = doc.find("kvs"); kvs != doc.end() && kvs->is_array()) {
    for (const auto& kv : *kvs) {
      auto decoded = decode_kv(kv);
      if (!decoded) return fail("etcd: malformed key-value in range answer");
      out.kvs.push_back(std::move(*decoded));
    }
  }
  return out;
}

std::string etcd_watch_body(std::string_view prefix, std::int64_t start_revision) {
  return json{{"create_request",
               {{"key", base64_encode(prefix)},
                {"range_end", base64_encode(prefix_range_end(prefix))},
                {"start_revision", std::to_string(start_revision)},
                {"progress_notify", true}}}}
      .dump();
}

std::optional<EtcdWatchMessage> parse_etcd_watch_line(std::string_view line) {
  const json doc = json::parse(line, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return std::nullopt;
  EtcdWatchMessage out;
  if (const auto error = doc.find("error"); error != doc.end()) {
    std::string message = "watch error";
    if (error->is_object()) {
      const auto m = error->find("message");
      if (m != error->end() && m->is_string()) message = m->get<std::string>().substr(0, 200);
    }
    out.error = std::move(message);
    return out;
  }
  const auto result = doc.find("result");
  if (result == doc.end() || !result->is_object()) return std::nullopt;
  if (const auto header = result->find("header"); header != result->end() && header->is_object()) {
    out.revision = int64_member(*header, "revision");
  }
  out.created = bool_member(*result, "created");
  out.canceled = bool_member(*result, "canceled");
  out.compact_revision = int64_member(*result, "compact_revision");
  if (const auto events = result->find("events"); events != result->end() && events->is_array()) {
    for (const auto& event : *events) {
      if (!event.is_object()) return std::nullopt;
      EtcdEvent e;
      const auto type = event.find("type");
      e.deleted = type != event.end() && type->is_string() && type->get<std::string>() == "DELETE";
      const auto kv = event.find("kv");
      if (kv == event.end()) return std::nullopt;
      auto decoded = decode_kv(*kv);
      if (!decoded) return std::nullopt;
      e.kv = std::move(*decoded);
      out.events.push_back(std::move(e));
    }
  }
  return out;
}

std::optional<DiscoveredEndpoint> parse_etcd_instance(std::string_view key,
                                                      std::string_view value) {
  const json doc = json::parse(value, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return std::nullopt;
  const auto url = doc.find("url");
  if (url == doc.end() || !url->is_string()) return std::nullopt;
  auto e = endpoint_from_url(url->get<std::string>());
  if (!e) return std::nullopt;
  if (const auto w = doc.find("weight"); w != doc.end()) {
    if (!w->is_number()) return std::nullopt;
    const double weight = w->get<double>();
    e->weight = weight > 0 ? static_cast<std::uint32_t>(std::min(weight, 1e6)) : 0;
    if (weight > 0 && e->weight == 0) e->weight = 1;
  }
  if (const auto h = doc.find("healthy"); h != doc.end()) {
    if (!h->is_boolean()) return std::nullopt;
    e->healthy = h->get<bool>();
  }
  if (const auto meta = doc.find("metadata"); meta != doc.end() && meta->is_object()) {
    for (const auto& [k, v] : meta->items()) {
      e->metadata.emplace(k, v.is_string() ? v.get<std::string>() : v.dump());
    }
  }
  if (const auto zone = doc.find("zone"); zone != doc.end() && zone->is_string()) {
    e->zone = zone->get<std::string>();
  } else if (const auto it = e->metadata.find("zone"); it != e->metadata.end()) {
    e->zone = it->second;
  }
  e->instance_id = std::string(key);
  return e;
}

}  // namespace gatewayd::discovery
