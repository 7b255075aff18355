#include "src/postgres_peer.h"

#include <fmt/format.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <mutex>
#include <thread>

#include "ks/core/child_process.h"
#include "ks/core/log.h"
#include "src/workload.h"

namespace ks::bench {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// The newest installed server's bin directory (Debian: /usr/lib/postgresql/<major>/bin), or "".
std::string PostgresBinDir() {
  std::string best;
  int best_major = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    const std::string name = entry.path().filename().string();
    const int major = std::atoi(name.c_str());
    if (major > best_major && fs::exists(entry.path() / "bin" / "postgres")) {
      best_major = major;
      best = (entry.path() / "bin").string();
    }
  }
  return best;
}

int FreeLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  KS_CHECK(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  KS_CHECK(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0);
  ::close(fd);
  return ntohs(address.sin_port);
}

// A PostgreSQL server of its own in `dir`, on a free loopback port, for as long as this lives.
class ThrowawayPostgres {
 public:
  // Room for `connections` clients (and a few of PostgreSQL's own).
  ThrowawayPostgres(const std::string& bin, const std::string& dir, int connections)
      : dir_(dir), port_(FreeLoopbackPort()) {
    fs::remove_all(dir);
    fs::create_directories(dir);
    const std::string data = dir + "/data";
    const std::string log = dir + "/server.log";
    // PostgreSQL will not run as root: then the server is the `postgres` user's, in a directory
    // it owns.
    std::vector<std::string> as_user;
    if (::geteuid() == 0) {
      const passwd* user = ::getpwnam("postgres");
      KS_CHECK(user != nullptr);
      KS_CHECK(::chown(dir.c_str(), user->pw_uid, user->pw_gid) == 0);
      as_user = {"--reuid=postgres", "--regid=postgres", "--init-groups", "--"};
    }
    auto run = [&](const std::string& program, std::vector<std::string> args) {
      if (as_user.empty()) return std::make_unique<ChildProcess>(program, args, log);
      args.insert(args.begin(), program);
      args.insert(args.begin(), as_user.begin(), as_user.end());
      return std::make_unique<ChildProcess>("/usr/bin/setpriv", args, log);
    };
    // initdb's own fsyncs are of no interest (--no-sync); the server's commits keep the defaults.
    auto initdb =
        run(bin + "/initdb", {"-D", data, "-U", "bench", "-A", "trust", "-E", "UTF8", "--no-sync"});
    initdb->ReadAll(std::chrono::minutes(2));
    const auto made = initdb->WaitForExit(std::chrono::minutes(2));
    KS_CHECK(made.has_value() && *made == 0);
    server_ = run(bin + "/postgres", {"-D", data, "-p", std::to_string(port_), "-k", dir, "-c",
                                      "listen_addresses=127.0.0.1", "-c",
                                      fmt::format("max_connections={}", std::max(200, connections + 10)),
                                      "-c", "shared_buffers=256MB"});
    const std::string conninfo = ConnInfo();
    for (int i = 0; i < 300 && PQping(conninfo.c_str()) != PQPING_OK; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    KS_CHECK(PQping(conninfo.c_str()) == PQPING_OK);
  }
  ~ThrowawayPostgres() {
    // SIGTERM is PostgreSQL's "smart" shutdown: every client has gone by now.
    server_->Terminate(std::chrono::seconds(30));
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string ConnInfo() const {
    return fmt::format("host=127.0.0.1 port={} dbname=postgres user=bench", port_);
  }

 private:
  std::string dir_;
  int port_;
  std::unique_ptr<ChildProcess> server_;
};

// One connection; every statement must succeed (this is a benchmark: a failure ends it).
class Connection {
 public:
  explicit Connection(const std::string& conninfo) : conn_(PQconnectdb(conninfo.c_str())) {
    if (PQstatus(conn_) != CONNECTION_OK)
      Die(fmt::format("PostgreSQL peer: connect: {}", PQerrorMessage(conn_)));
  }
  ~Connection() { PQfinish(conn_); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void Exec(const std::string& sql) { Check(PQexec(conn_, sql.c_str()), sql); }
  void Prepare(const std::string& name, const std::string& sql) {
    Check(PQprepare(conn_, name.c_str(), sql.c_str(), 0, nullptr), sql);
  }
  void Run(const std::string& name, const std::vector<std::string>& params) {
    std::vector<const char*> values;
    for (const auto& p : params) values.push_back(p.c_str());
    Check(PQexecPrepared(conn_, name.c_str(), static_cast<int>(values.size()), values.data(),
                         nullptr, nullptr, 0),
          name);
  }

 private:
  void Check(PGresult* result, const std::string& what) {
    const auto status = PQresultStatus(result);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
      Die(fmt::format("PostgreSQL peer: {}: {}", what, PQresultErrorMessage(result)));
    PQclear(result);
  }
  PGconn* conn_;
};

// The tables a PostgreSQL-backed CRM would keep: the events, and read models with the indexes
// the KCC's screens need (a party's timeline, a department's open callbacks in due order).
constexpr const char* kSchema = R"sql(
CREATE TABLE events (
  position bigserial PRIMARY KEY, tenant text NOT NULL, aggregate_id text NOT NULL,
  event_type text NOT NULL, recorded_at timestamptz NOT NULL DEFAULT now(), payload bytea NOT NULL);
CREATE INDEX events_by_aggregate ON events (tenant, aggregate_id, position);
CREATE TABLE parties (
  tenant text NOT NULL, party_id text NOT NULL, display_name text, addresses text[],
  contacts integer NOT NULL DEFAULT 0, open_callbacks integer NOT NULL DEFAULT 0, last_contact_at timestamptz,
  PRIMARY KEY (tenant, party_id));
CREATE TABLE interactions (
  tenant text NOT NULL, interaction_id text NOT NULL, party_id text NOT NULL, channel integer NOT NULL,
  direction integer NOT NULL, occurred_at timestamptz NOT NULL, topics text[], body text,
  PRIMARY KEY (tenant, interaction_id));
CREATE INDEX party_timeline ON interactions (tenant, party_id, occurred_at DESC);
CREATE TABLE callbacks (
  tenant text NOT NULL, callback_id text NOT NULL, party_id text NOT NULL, department text NOT NULL,
  employee_id text, urgency integer NOT NULL, due_at timestamptz NOT NULL, subject text, context text,
  status text NOT NULL, PRIMARY KEY (tenant, callback_id));
CREATE INDEX callback_queue ON callbacks (tenant, department, status, due_at);
)sql";

// Each command is one statement, so one round trip and one transaction: the event appended and
// every read model it changes upserted together.
constexpr const char* kRegisterParty = R"sql(
WITH e AS (INSERT INTO events (tenant, aggregate_id, event_type, payload) VALUES ($1, $2, 'PartyRegistered', $5::bytea))
INSERT INTO parties (tenant, party_id, display_name, addresses) VALUES ($1, $2, $3, string_to_array($4, ','))
ON CONFLICT (tenant, party_id) DO UPDATE SET display_name = EXCLUDED.display_name, addresses = EXCLUDED.addresses
)sql";
constexpr const char* kRegisterInteraction = R"sql(
WITH e AS (INSERT INTO events (tenant, aggregate_id, event_type, payload) VALUES ($1, $2, 'InteractionRegistered', $8::bytea)),
     i AS (INSERT INTO interactions (tenant, interaction_id, party_id, channel, direction, occurred_at, topics, body)
           VALUES ($1, $2, $3, $4, $5, to_timestamp($6), string_to_array($7, ','), $9))
INSERT INTO parties AS p (tenant, party_id, contacts, last_contact_at) VALUES ($1, $3, 1, to_timestamp($6))
ON CONFLICT (tenant, party_id) DO UPDATE
  SET contacts = p.contacts + 1, last_contact_at = greatest(p.last_contact_at, EXCLUDED.last_contact_at)
)sql";
constexpr const char* kRequestCallback = R"sql(
WITH e AS (INSERT INTO events (tenant, aggregate_id, event_type, payload) VALUES ($1, $2, 'CallbackRequested', $10::bytea)),
     c AS (INSERT INTO callbacks (tenant, callback_id, party_id, department, employee_id, urgency, due_at, subject, context, status)
           VALUES ($1, $2, $3, $4, $5, $6, to_timestamp($7), $8, $9, 'open'))
INSERT INTO parties AS p (tenant, party_id, open_callbacks) VALUES ($1, $3, 1)
ON CONFLICT (tenant, party_id) DO UPDATE SET open_callbacks = p.open_callbacks + 1
)sql";

// bytea in text form: "\x" and hex.
std::string Bytea(const std::string& bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\\x";
  out.reserve(2 + bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

// The statement and parameters of one command of the workload.
std::pair<const char*, std::vector<std::string>> Statement(const pb::ExecuteRequest& r,
                                                           size_t index) {
  const std::string& tenant = r.meta().tenant();
  const std::string payload = Bytea(r.SerializeAsString());
  if (r.has_register_party()) {
    std::string addresses;
    for (const auto& a : r.register_party().digital_addresses())
      addresses += (addresses.empty() ? "" : ",") + a.value();
    return {"party",
            {tenant, r.aggregate_id(), r.register_party().display_name(), addresses, payload}};
  }
  const std::string id = fmt::format("peer-{}", index);
  if (r.has_request_callback()) {
    const auto& c = r.request_callback();
    return {"callback",
            {tenant, id, c.party_id(), c.target().department(), c.target().employee_id(),
             std::to_string(static_cast<int>(c.urgency())), std::to_string(c.due_at().seconds()),
             c.subject(), c.context(), payload}};
  }
  const auto& c = r.register_interaction();
  std::string topics;
  for (const auto& t : c.topics()) topics += (topics.empty() ? "" : ",") + t;
  return {"interaction",
          {tenant, id, c.party_id(), std::to_string(static_cast<int>(c.channel())),
           std::to_string(static_cast<int>(c.direction())),
           std::to_string(r.meta().occurred_at().seconds()), topics, payload, c.text()}};
}

// Runs `requests` on `connections` connections at once, each a transaction of its own; the
// latency of each is from sending it to its commit's answer.
Sample RunOnConnections(const std::string& conninfo,
                        const std::vector<pb::ExecuteRequest>& requests, int connections,
                        size_t first_index) {
  std::atomic<size_t> next{0};
  std::mutex mutex;
  Latencies all;
  std::vector<std::thread> threads;
  const auto start = Clock::now();
  for (int t = 0; t < connections; ++t)
    threads.emplace_back([&] {
      Connection db(conninfo);
      db.Prepare("party", kRegisterParty);
      db.Prepare("interaction", kRegisterInteraction);
      db.Prepare("callback", kRequestCallback);
      Latencies mine;
      for (size_t i = next++; i < requests.size(); i = next++) {
        const auto [name, params] = Statement(requests[i], first_index + i);
        const auto sent = Clock::now();
        db.Run(name, params);
        mine.Add(std::chrono::duration<double, std::milli>(Clock::now() - sent).count());
      }
      std::lock_guard lock(mutex);
      all.Merge(mine);
    });
  for (auto& t : threads) t.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return {static_cast<double>(requests.size()) / seconds, all.Percentile(50), all.Percentile(99),
          seconds};
}

}  // namespace

std::optional<Sample> PostgresPeerBenchmark(const BenchOptions& options, std::string* why) {
  const std::string bin = PostgresBinDir();
  if (bin.empty()) {
    *why = "no PostgreSQL server under /usr/lib/postgresql (apt-get install postgresql)";
    return std::nullopt;
  }
  ThrowawayPostgres server(bin, options.work_dir + "/postgres-" + std::to_string(options.seed), options.concurrency);
  {
    Connection admin(server.ConnInfo());
    admin.Exec(kSchema);
  }
  const Workload workload = MakeWorkload(options.parties, options.commands, options.seed);
  (void)RunOnConnections(server.ConnInfo(), workload.parties, options.concurrency,
                         0);  // not measured
  return RunOnConnections(server.ConnInfo(), workload.commands, options.concurrency,
                          workload.parties.size());
}

}  // namespace ks::bench
