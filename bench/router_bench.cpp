// Route matching and target normalisation over a 1,000-route table of mixed kinds.
//   router_bench --benchmark_min_time=0.5
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "gatewayd/router.hpp"

namespace gatewayd {
namespace {

RouteConfig make(std::string path, std::vector<std::string> methods) {
  RouteConfig r;
  r.path = std::move(path);
  r.methods = std::move(methods);
  r.service = "svc";
  r.name = r.path;
  return r;
}

// 400 exact, 300 prefix, 200 parameter templates, 100 templates with a '*' segment.
std::vector<RouteConfig> thousand_routes() {
  std::vector<RouteConfig> routes;
  for (int i = 0; i < 400; ++i) {
    routes.push_back(
        make("/api/v" + std::to_string(i % 4) + "/service" + std::to_string(i) + "/items",
             {"GET", "POST"}));
  }
  for (int i = 0; i < 300; ++i) {
    routes.push_back(make("/static/app" + std::to_string(i) + "/**", {"GET"}));
  }
  for (int i = 0; i < 200; ++i) {
    routes.push_back(make("/api/v1/tenants" + std::to_string(i) + "/users/{id}/orders/{order}",
                          {"GET", "PUT", "DELETE"}));
  }
  for (int i = 0; i < 100; ++i) {
    routes.push_back(make("/files/bucket" + std::to_string(i) + "/*/meta", {"GET"}));
  }
  return routes;
}

struct Request {
  std::string path;
  std::string method;
};

std::vector<Request> mixed_requests() {
  std::vector<Request> out;
  std::mt19937 rng(42);
  for (int n = 0; n < 4096; ++n) {
    const int i = static_cast<int>(rng() % 1000);
    switch (n % 5) {
      case 0:
        out.push_back({"/api/v" + std::to_string(i % 400 % 4) + "/service" +
                           std::to_string(i % 400) + "/items",
                       "GET"});
        break;
      case 1:
        out.push_back({"/static/app" + std::to_string(i % 300) + "/js/main.3f9a.js", "GET"});
        break;
      case 2:
        out.push_back({"/api/v1/tenants" + std::to_string(i % 200) + "/users/u" +
                           std::to_string(i) + "/orders/o" + std::to_string(n),
                       "GET"});
        break;
      case 3:
        out.push_back({"/files/bucket" + std::to_string(i % 100) + "/report-" + std::to_string(n) +
                           ".pdf/meta",
                       "GET"});
        break;
      default:
        out.push_back({"/api/v9/unknown" + std::to_string(i) + "/x", "GET"});  // 404
    }
  }
  return out;
}

void run(benchmark::State& state, const std::vector<Request>& requests) {
  const auto routes = thousand_routes();
  const Router router(routes);
  std::size_t i = 0;
  for (auto _ : state) {
    const auto& r = requests[i++ & (requests.size() - 1)];
    auto m = router.match("api.example.com", r.path, r.method);
    benchmark::DoNotOptimize(m);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

std::vector<Request> only(int kind) {
  std::vector<Request> out;
  const auto all = mixed_requests();
  for (std::size_t n = 0; n < all.size(); ++n) {
    if (static_cast<int>(n % 5) == kind) out.push_back(all[n]);
  }
  while (out.size() & (out.size() - 1)) out.pop_back();  // a power of two for the index mask
  return out;
}

void BM_MatchMixed(benchmark::State& s) {
  run(s, mixed_requests());
}
void BM_MatchExact(benchmark::State& s) {
  run(s, only(0));
}
void BM_MatchPrefix(benchmark::State& s) {
  run(s, only(1));
}
void BM_MatchParams(benchmark::State& s) {
  run(s, only(2));
}
void BM_MatchWildcard(benchmark::State& s) {
  run(s, only(3));
}
void BM_MatchNotFound(benchmark::State& s) {
  run(s, only(4));
}
void BM_MatchMethodNotAllowed(benchmark::State& s) {
  std::vector<Request> reqs = only(0);
  for (auto& r : reqs) r.method = "PATCH";
  run(s, reqs);
}

void BM_NormalizeFastPath(benchmark::State& state) {
  const std::string target = "/api/v1/tenants17/users/u42/orders/o9?expand=items&limit=50";
  NormalizedTarget out;
  for (auto _ : state) {
    benchmark::DoNotOptimize(normalize_target(target, out));
    benchmark::DoNotOptimize(out.path.data());
  }
}

void BM_NormalizeEscapesAndDots(benchmark::State& state) {
  const std::string target = "/api/v1/./tenants17/users/%7Eu42/../u42/orders/o%3a9?limit=50";
  NormalizedTarget out;
  for (auto _ : state) {
    benchmark::DoNotOptimize(normalize_target(target, out));
    benchmark::DoNotOptimize(out.path.data());
  }
}

// What a request pays: normalise the target, then match it.
void BM_NormalizeThenMatch(benchmark::State& state) {
  const auto routes = thousand_routes();
  const Router router(routes);
  auto requests = mixed_requests();
  for (auto& r : requests) r.path += "?page=2&sort=name";
  NormalizedTarget out;
  std::size_t i = 0;
  for (auto _ : state) {
    const auto& r = requests[i++ & (requests.size() - 1)];
    normalize_target(r.path, out);
    auto m = router.match("api.example.com", out.path, r.method);
    benchmark::DoNotOptimize(m);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

BENCHMARK(BM_MatchMixed);
BENCHMARK(BM_MatchExact);
BENCHMARK(BM_MatchPrefix);
BENCHMARK(BM_MatchParams);
BENCHMARK(BM_MatchWildcard);
BENCHMARK(BM_MatchNotFound);
BENCHMARK(BM_MatchMethodNotAllowed);
BENCHMARK(BM_NormalizeFastPath);
BENCHMARK(BM_NormalizeEscapesAndDots);
BENCHMARK(BM_NormalizeThenMatch);

}  // namespace
}  // namespace gatewayd

BENCHMARK_MAIN();
