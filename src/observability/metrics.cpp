#include "gatewayd/metrics.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <map>
#include <mutex>
#include <stdexcept>

namespace gatewayd::metrics {

namespace {

void atomic_add(std::atomic<double>& target, double delta) noexcept {
  double current = target.load(std::memory_order_relaxed);
  while (!target.compare_exchange_weak(current, current + delta, std::memory_order_relaxed,
                                       std::memory_order_relaxed)) {
  }
}

enum class Type { kCounter, kGauge, kHistogram };

std::string_view type_name(Type type) {
  switch (type) {
    case Type::kCounter:
      return "counter";
    case Type::kGauge:
      return "gauge";
    case Type::kHistogram:
      return "histogram";
  }
  return "untyped";
}

bool is_name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_name_char(char c) {
  return is_name_start(c) || (c >= '0' && c <= '9');
}

void check_metric_name(std::string_view name) {
  bool ok = !name.empty() && (is_name_start(name.front()) || name.front() == ':');
  for (const char c : name) ok = ok && (is_name_char(c) || c == ':');
  if (!ok) throw std::invalid_argument(fmt::format("invalid metric name '{}'", name));
}

void check_label_name(std::string_view name) {
  bool ok = !name.empty() && is_name_start(name.front()) && !name.starts_with("__");
  for (const char c : name) ok = ok && is_name_char(c);
  if (!ok) throw std::invalid_argument(fmt::format("invalid label name '{}'", name));
}

// Series are keyed by their labels sorted by name, so {a,b} and {b,a} are one series and the
// output order is stable.
Labels normalise(const Labels& labels) {
  Labels sorted = labels;
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    check_label_name(sorted[i].first);
    if (i > 0 && sorted[i].first == sorted[i - 1].first) {
      throw std::invalid_argument(fmt::format("duplicate label name '{}'", sorted[i].first));
    }
  }
  return sorted;
}

using Out = std::back_insert_iterator<std::string>;

void append_escaped_label_value(std::string& out, std::string_view v) {
  for (const char c : v) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
}

void append_escaped_help(std::string& out, std::string_view v) {
  for (const char c : v) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
}

void append_double(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else {
    fmt::format_to(Out(out), "{}", v);
  }
}

// `{a="x",b="y"}`, with an optional extra label (le) appended last as Prometheus clients do.
void append_labels(std::string& out, const Labels& labels, std::string_view extra_name = {},
                   std::string_view extra_value = {}) {
  if (labels.empty() && extra_name.empty()) return;
  out += '{';
  bool first = true;
  for (const auto& [name, value] : labels) {
    if (!first) out += ',';
    first = false;
    out += name;
    out += "=\"";
    append_escaped_label_value(out, value);
    out += '"';
  }
  if (!extra_name.empty()) {
    if (!first) out += ',';
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out += '"';
  }
  out += '}';
}

}  // namespace

// ---------------------------------------------------------------------------------------------

void Gauge::add(double d) noexcept {
  atomic_add(value_, d);
}

Histogram::Histogram(std::vector<double> upper_bounds) : bounds_(std::move(upper_bounds)) {
  if (!bounds_.empty() && std::isinf(bounds_.back()) && bounds_.back() > 0) bounds_.pop_back();
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    if (std::isnan(bounds_[i]) || std::isinf(bounds_[i]) ||
        (i > 0 && !(bounds_[i - 1] < bounds_[i]))) {
      throw std::invalid_argument("histogram bounds must be finite and strictly increasing");
    }
  }
  buckets_ = std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1);
  for (std::size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::observe(double v) noexcept {
  if (std::isnan(v)) return;  // would turn _sum into NaN for the life of the process
  // le semantics: the first bucket whose bound is >= v.
  const auto it = std::lower_bound(bounds_.begin(), bounds_.end(), v);
  const auto index = static_cast<std::size_t>(it - bounds_.begin());
  buckets_[index].fetch_add(1, std::memory_order_relaxed);
  atomic_add(sum_, v);
  count_.fetch_add(1, std::memory_order_relaxed);
}

std::vector<std::uint64_t> Histogram::cumulative_counts() const {
  std::vector<std::uint64_t> out(bounds_.size() + 1);
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    out[i] = running;
  }
  return out;
}

const std::vector<double>& default_latency_buckets() {
  static const std::vector<double> kBuckets{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                            0.25,   0.5,   1,      2.5,   5,    10,    30};
  return kBuckets;
}

// ---------------------------------------------------------------------------------------------

struct Registry::Impl {
  struct Series {
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
    std::function<double()> callback;
  };
  struct Family {
    Type type;
    std::string help;
    std::vector<double> bounds;  // histograms only
    std::map<Labels, Series> series;
  };

  mutable std::mutex mutex;
  std::map<std::string, Family, std::less<>> families;

  // A histogram `h` also writes h_bucket, h_sum and h_count; a family with one of those names
  // would produce an ambiguous exposition.
  void check_collision(std::string_view name, Type type) const {
    static constexpr std::string_view kSuffixes[] = {"_bucket", "_sum", "_count"};
    for (const auto suffix : kSuffixes) {
      if (type == Type::kHistogram) {
        const auto it = families.find(std::string(name) + std::string(suffix));
        if (it != families.end()) {
          throw std::logic_error(
              fmt::format("histogram '{}' collides with existing metric '{}'", name, it->first));
        }
      }
      if (name.ends_with(suffix)) {
        const auto base = name.substr(0, name.size() - suffix.size());
        const auto it = families.find(base);
        if (it != families.end() && it->second.type == Type::kHistogram) {
          throw std::logic_error(
              fmt::format("metric '{}' collides with histogram '{}'", name, base));
        }
      }
    }
  }

  Family& family(std::string_view name, std::string_view help, Type type) {
    auto it = families.find(name);
    if (it == families.end()) {
      check_metric_name(name);
      check_collision(name, type);
      it = families.emplace(std::string(name), Family{type, std::string(help), {}, {}}).first;
    } else if (it->second.type != type) {
      throw std::logic_error(fmt::format("metric '{}' registered as {} and as {}", name,
                                         type_name(it->second.type), type_name(type)));
    }
    return it->second;
  }

  Series& series(Family& fam, std::string_view name, const Labels& labels) {
    Labels key = normalise(labels);
    if (fam.type == Type::kHistogram) {
      for (const auto& label : key) {
        if (label.first == "le") {
          throw std::invalid_argument(fmt::format("histogram '{}' cannot use label 'le'", name));
        }
      }
    }
    return fam.series[std::move(key)];
  }

  void set_callback(std::string_view name, std::string_view help, Type type, const Labels& labels,
                    std::function<double()> fn) {
    std::lock_guard lock(mutex);
    Family& fam = family(name, help, type);
    Series& s = series(fam, name, labels);
    if (s.counter || s.gauge) {
      throw std::logic_error(
          fmt::format("metric '{}' has both a callback and a stored value", name));
    }
    s.callback = std::move(fn);
  }
};

Registry& Registry::global() {
  static Registry* const instance = [] {
    // Never destroyed: references to its metrics live in objects torn down at exit.
    auto* r = new Registry();
    register_process_metrics(*r);
    return r;
  }();
  return *instance;
}

Registry::Registry() : impl_(std::make_unique<Impl>()) {}
Registry::~Registry() = default;

Counter& Registry::counter(std::string_view name, std::string_view help, const Labels& labels) {
  std::lock_guard lock(impl_->mutex);
  auto& s = impl_->series(impl_->family(name, help, Type::kCounter), name, labels);
  if (s.callback) {
    throw std::logic_error(fmt::format("counter '{}' is already a callback", name));
  }
  if (!s.counter) s.counter = std::make_unique<Counter>();
  return *s.counter;
}

Gauge& Registry::gauge(std::string_view name, std::string_view help, const Labels& labels) {
  std::lock_guard lock(impl_->mutex);
  auto& s = impl_->series(impl_->family(name, help, Type::kGauge), name, labels);
  if (s.callback) {
    throw std::logic_error(fmt::format("gauge '{}' is already a callback", name));
  }
  if (!s.gauge) s.gauge = std::make_unique<Gauge>();
  return *s.gauge;
}

Histogram& Registry::histogram(std::string_view name, std::string_view help, const Labels& labels,
                               const std::vector<double>& bounds) {
  std::lock_guard lock(impl_->mutex);
  auto& fam = impl_->family(name, help, Type::kHistogram);
  if (fam.series.empty()) {
    fam.bounds = Histogram(bounds).bounds();  // validates and drops a trailing +Inf
  } else {
    std::vector<double> wanted = bounds;
    if (!wanted.empty() && std::isinf(wanted.back()) && wanted.back() > 0) wanted.pop_back();
    if (wanted != fam.bounds) {
      throw std::logic_error(fmt::format("histogram '{}' registered with different buckets", name));
    }
  }
  auto& s = impl_->series(fam, name, labels);
  if (!s.histogram) s.histogram = std::make_unique<Histogram>(fam.bounds);
  return *s.histogram;
}

void Registry::gauge_callback(std::string_view name, std::string_view help, const Labels& labels,
                              std::function<double()> fn) {
  impl_->set_callback(name, help, Type::kGauge, labels, std::move(fn));
}

void Registry::counter_callback(std::string_view name, std::string_view help, const Labels& labels,
                                std::function<double()> fn) {
  impl_->set_callback(name, help, Type::kCounter, labels, std::move(fn));
}

bool Registry::remove_callback(std::string_view name, const Labels& labels) {
  std::lock_guard lock(impl_->mutex);
  const auto fam = impl_->families.find(name);
  if (fam == impl_->families.end()) return false;
  const auto it = fam->second.series.find(normalise(labels));
  if (it == fam->second.series.end() || !it->second.callback) return false;
  fam->second.series.erase(it);
  if (fam->second.series.empty()) impl_->families.erase(fam);
  return true;
}

std::string Registry::render() const {
  std::string out;
  std::lock_guard lock(impl_->mutex);
  out.reserve(256 * impl_->families.size());
  for (const auto& [name, fam] : impl_->families) {
    if (fam.series.empty()) continue;
    out += "# HELP ";
    out += name;
    out += ' ';
    append_escaped_help(out, fam.help);
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type_name(fam.type);
    out += '\n';
    for (const auto& [labels, s] : fam.series) {
      if (fam.type == Type::kHistogram) {
        const auto counts = s.histogram->cumulative_counts();
        const std::string bucket_name = name + "_bucket";
        for (std::size_t i = 0; i < counts.size(); ++i) {
          out += bucket_name;
          std::string le;
          if (i < fam.bounds.size()) {
            append_double(le, fam.bounds[i]);
          } else {
            le = "+Inf";
          }
          append_labels(out, labels, "le", le);
          fmt::format_to(Out(out), " {}\n", counts[i]);
        }
        out += name;
        out += "_sum";
        append_labels(out, labels);
        out += ' ';
        append_double(out, s.histogram->sum());
        out += '\n';
        // _count from the buckets, so it always equals the +Inf bucket of the same scrape.
        out += name;
        out += "_count";
        append_labels(out, labels);
        fmt::format_to(Out(out), " {}\n", counts.back());
        continue;
      }
      out += name;
      append_labels(out, labels);
      out += ' ';
      if (s.callback) {
        double v = 0;
        try {
          v = s.callback();
        } catch (...) {
          v = std::nan("");
        }
        append_double(out, v);
      } else if (s.counter) {
        fmt::format_to(Out(out), "{}", s.counter->value());
      } else if (s.gauge) {
        append_double(out, s.gauge->value());
      } else {
        out += '0';
      }
      out += '\n';
    }
  }
  return out;
}

}  // namespace gatewayd::metrics
