// Graph runtime on oneTBB: bounded, lossless-by-default edges; errors as data; ordered ports; clean shutdown.
#include "pipeline/runtime.h"

#include "pipeline/console.h"

#include <spdlog/spdlog.h>
#include <sys/ioctl.h>
#include <tbb/flow_graph.h>
#include <tbb/global_control.h>
#include <tbb/spin_mutex.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <deque>
#include <limits>
#include <mutex>
#include <set>
#include <thread>

namespace vatt::pipeline {
namespace flow = tbb::flow;

namespace {

using Clock = std::chrono::steady_clock;

/// Busy time is taken around every node call, so it must cost less than a clock_gettime pair (~40 ns):
/// the time-stamp counter, converted to seconds with the rate measured over the run itself.
inline uint64_t ticks() {
#if defined(__x86_64__)
  return __rdtsc();
#else
  return static_cast<uint64_t>(Clock::now().time_since_epoch().count());
#endif
}

struct NodeRt;
struct EdgeRt;

/// One call of a node (process/produce): holds one slot of the node's limiter until every message it emitted
/// on a blocking edge has been taken by its consumer. refs = 1 (the call itself) + messages in flight.
struct Firing {
  std::atomic<int> refs{1};
  NodeRt* owner;
  explicit Firing(NodeRt* o) : owner(o) {}
};

struct Envelope {
  Message msg;
  uint64_t stream_seq = 0;  ///< position in the producing sequence: what ordered ports restore
  int32_t port = 0;         ///< consumer's input port
  int32_t edge = -1;        ///< global edge index
  bool tombstone = false;   ///< "seq N yields nothing here": keeps ordered ports from waiting forever
  /// The producer's call to release when the consumer takes this (null: uncounted edge).
  Firing* firing = nullptr;
};

void release(Firing* f);

struct EdgeRt {
  const EdgeSpec* spec = nullptr;
  int index = 0;
  bool counted = false;  ///< blocking, not a back edge: occupies a slot of the producer
  NodeRt* to = nullptr;
  int lane = 0;  ///< consumer's lane: its own FIFO, or the reorder lane of an ordered port
  std::atomic<int64_t> depth{0}, max_depth{0};
  std::atomic<uint64_t> passed{0}, dropped{0};
};

struct NodeRt {
  const NodeSpec* spec = nullptr;
  int index = 0;
  std::unique_ptr<Node> node;
  bool source = false;
  bool opened = false;
  int errors_port = -1;
  int max_out = 1;
  std::vector<std::vector<EdgeRt*>> out_edges;  // per output port
  std::vector<EdgeRt*> in_edges;
  std::vector<char> out_new, out_tomb;
  std::unique_ptr<std::atomic<uint64_t>[]> out_seq;
  int threshold = 0;  // most calls with messages in flight; 0 = unbounded

  // Admission gate: at most `limit` calls admitted (queued in or running on the function_node) and not yet
  // released; the rest wait in lanes (one FIFO per unordered in-edge, one reorder buffer per ordered port).
  struct Lane {
    std::deque<Envelope> fifo;
    bool ordered = false;
    uint64_t next_seq = 0;                            // ordered: the next sequence position to release
    std::map<uint64_t, Envelope> pending;             // ordered: arrived ahead of next_seq
    std::unique_ptr<std::atomic<uint64_t>> next_pub;  // ordered: next_seq, for the feeders to read
  };
  tbb::spin_mutex gate_mu;  // held for a few dozen instructions: a spin lock beats a futex here
  std::vector<Lane> lanes;
  size_t waiting_msgs = 0, rr = 0;
  int admitted = 0;
  int limit = std::numeric_limits<int>::max();
  // Ordered ports: the nodes that feed one through key-preserving ports (told when it advances) and, on such
  // a feeder, the sequence position the port waits for (admitted even when the gate is full).
  std::vector<NodeRt*> feeders;
  const std::atomic<uint64_t>* wanted = nullptr;
  /// Slots any message may take: all of them, but one kept for the wanted message on a feeder.
  int open_limit() const { return wanted && limit >= 2 ? limit - 1 : limit; }
  std::unique_ptr<flow::function_node<Envelope, flow::continue_msg, flow::queueing>> body;

  // Sources: a thread, throttled by `outstanding` < threshold.
  std::thread thread;
  std::mutex mu;
  std::condition_variable cv;
  std::atomic<int64_t> outstanding{0};
  std::atomic<bool> waiting{false};
  int64_t low_water = 0;

  std::atomic<uint64_t> in{0}, out{0}, errors{0}, busy_ticks{0};
  std::function<void(const std::string&)> stop_run;  // set by the runtime: Emitter::stop_run
  std::function<void(const std::string&)> fail_run;  // set by the runtime: Emitter::fail_run
  std::atomic<int> fail_streak{0};                   // calls in a row that failed
  mutable std::mutex err_mu;
  std::map<std::string, uint64_t> errors_by_kind;

  void slot_free() {
    if (source) {
      // Wake a waiting source only at the low-water mark: one wake-up per half bound, not per message.
      const int64_t now = outstanding.fetch_sub(1) - 1;
      if (waiting.load() && now <= low_water) {
        std::lock_guard<std::mutex> lk(mu);
        cv.notify_one();
      }
    } else {
      admit(nullptr, nullptr, true);
    }
  }
  Firing* new_firing() {
    if (source) {
      if (!threshold) return nullptr;
      outstanding.fetch_add(1, std::memory_order_acq_rel);
    }
    return new Firing(this);
  }

  /// Adds `incoming` (if any) to its lane, releases a finished call's slot (if `freed`), and hands waiting
  /// messages to the function_node while slots are free.
  void admit(EdgeRt* e, const Envelope* incoming, bool freed);
};

void release(Firing* f) {
  if (f && f->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    f->owner->slot_free();
    delete f;
  }
}

void note_max(std::atomic<int64_t>& m, int64_t v) {
  int64_t cur = m.load(std::memory_order_relaxed);
  while (v > cur && !m.compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
  }
}

void NodeRt::admit(EdgeRt* e, const Envelope* incoming, bool freed) {
  Envelope dropped;
  bool has_dropped = false;
  bool advanced = false;
  {
    tbb::spin_mutex::scoped_lock lk(gate_mu);
    if (freed) --admitted;
    if (incoming) {
      // Depth is counted under the gate's lock so that a drop and its replacement are never both visible.
      int64_t depth = e->depth.fetch_add(1, std::memory_order_acq_rel) + 1;
      Lane& lane = lanes[e->lane];
      if (!lane.ordered && waiting_msgs == 0 && admitted < open_limit()) {
        ++admitted;  // fast path: nothing waits, a slot is free
        body->try_put(*incoming);
      } else if (lane.ordered) {
        lane.pending.emplace(incoming->stream_seq, *incoming);
        const uint64_t before = lane.next_seq;
        for (auto it = lane.pending.begin(); it != lane.pending.end() && it->first == lane.next_seq;
             it = lane.pending.erase(it), ++lane.next_seq) {
          lane.fifo.push_back(std::move(it->second));
          ++waiting_msgs;
        }
        if (lane.next_seq != before) {
          lane.next_pub->store(lane.next_seq, std::memory_order_release);
          advanced = true;
        }
      } else {
        if (e->spec->policy == EdgePolicy::DropOldest && !lane.fifo.empty() && depth > e->spec->capacity) {
          dropped = std::move(lane.fifo.front());
          lane.fifo.pop_front();
          --waiting_msgs;
          depth = e->depth.fetch_sub(1, std::memory_order_acq_rel) - 1;
          has_dropped = true;
        }
        lane.fifo.push_back(*incoming);
        ++waiting_msgs;
      }
      note_max(e->max_depth, depth);
    }
    // Round-robin over lanes so that one busy in-edge cannot starve another.
    // try_put only spawns a task (it never runs the body here), so it is safe under the lock, and doing it
    // under the lock keeps the function_node's queue in admission order (what ordered ports rely on).
    while (waiting_msgs && admitted < open_limit()) {
      for (size_t k = 0; k < lanes.size(); ++k) {
        Lane& lane = lanes[(rr + k) % lanes.size()];
        if (lane.fifo.empty()) continue;
        body->try_put(lane.fifo.front());
        lane.fifo.pop_front();
        --waiting_msgs;
        ++admitted;
        rr = (rr + k + 1) % lanes.size();
        break;
      }
    }
    // The last slot is the reserved one: only the message an ordered port downstream waits for takes it. The
    // messages that overtook it may hold every other slot of this node while they wait at that port for it,
    // so without the reserve it would never pass (concurrency > 1 upstream of an ordered port).
    if (wanted && waiting_msgs && admitted < limit) {
      const uint64_t w = wanted->load(std::memory_order_acquire);
      for (Lane& lane : lanes) {
        auto it = std::find_if(lane.fifo.begin(), lane.fifo.end(),
                               [w](const Envelope& env) { return env.stream_seq == w; });
        if (it == lane.fifo.end()) continue;
        body->try_put(*it);
        lane.fifo.erase(it);
        --waiting_msgs;
        ++admitted;
        break;
      }
    }
  }
  if (has_dropped) {
    e->dropped.fetch_add(1, std::memory_order_relaxed);
    release(dropped.firing);
  }
  // The wanted message moved on: the nodes upstream may now hold the next one.
  if (advanced)
    for (NodeRt* f : feeders) f->admit(nullptr, nullptr, false);
}

/// Hands `env` to edge `e`'s consumer (which copies it into its queue): the fields that differ per edge are
/// set in place, so fan-out costs one copy per edge and a single edge one copy in all.
void deliver(EdgeRt& e, Envelope& env, Firing* f) {
  env.edge = e.index;
  env.port = e.spec->to_port;
  env.firing = e.counted ? f : nullptr;
  if (env.firing) env.firing->refs.fetch_add(1, std::memory_order_acq_rel);
  e.to->admit(&e, &env, false);
}

/// The Emitter handed to one call. Enforces max_out, stamps keys and sequence positions, routes errors.
class CallEmitter final : public Emitter {
 public:
  CallEmitter(NodeRt& n, Firing* f, const Envelope* input, bool flushing)
      : n_(n), f_(f), input_(input), flushing_(flushing) {
    if (n.out_edges.size() > emitted_.size())
      throw InvariantError("node '" + n.spec->id + "' has more than 16 output ports");
    emitted_.fill(0);
  }

  void emit(int port, Message msg) override {
    if (port < 0 || port >= static_cast<int>(n_.out_edges.size()))
      throw std::out_of_range("node '" + n_.spec->id + "' emitted on port " + std::to_string(port) +
                              ", which does not exist");
    if (port == n_.errors_port) throw InvariantError("use Emitter::error() for the errors port");
    if (!flushing_ && ++emitted_[port] > n_.max_out)
      throw InvariantError("node '" + n_.spec->id + "' emitted more than " + std::to_string(n_.max_out) +
                           " message(s) on port '" + n_.spec->contract->outputs[port].name + "' in one call");
    if (const std::type_info* want = static_cast<size_t>(port) < n_.spec->out_cpp.size()
                                         ? n_.spec->out_cpp[static_cast<size_t>(port)]
                                         : nullptr;
        want && msg.payload_typeid() != want && !(msg.payload_typeid() && *msg.payload_typeid() == *want))
      throw InvariantError("node '" + n_.spec->id + "' emitted " + msg.payload_type() + " on port '" +
                           n_.spec->contract->outputs[port].name + "', which carries '" +
                           n_.spec->out_types[static_cast<size_t>(port)] + "' (" + type_name(*want) + ")");
    Envelope env;
    env.stream_seq = stream_seq(port);
    if (!msg.has_key())
      msg.set_key(input_ ? input_->msg.key() : Key{static_cast<uint64_t>(n_.index), env.stream_seq});
    env.msg = std::move(msg);
    n_.out.fetch_add(1, std::memory_order_relaxed);
    for (EdgeRt* e : n_.out_edges[port]) deliver(*e, env, f_);
  }

  void stop_run(const std::string& reason) override { n_.stop_run("node '" + n_.spec->id + "': " + reason); }
  void fail_run(const std::string& reason) override { n_.fail_run("node '" + n_.spec->id + "': " + reason); }

  /// Did this call fail: errors reported and nothing emitted on a data port.
  bool failed() const {
    if (errors_ == 0) return false;
    for (size_t p = 0; p < n_.out_edges.size(); ++p)
      if (static_cast<int>(p) != n_.errors_port && emitted_[p]) return false;
    return true;
  }
  const std::string& last_error() const { return last_error_; }

  void error(const std::string& kind, const std::string& reason) override {
    n_.errors.fetch_add(1, std::memory_order_relaxed);
    ++errors_;
    last_error_ = kind + ": " + reason;
    {
      std::lock_guard<std::mutex> lk(n_.err_mu);
      n_.errors_by_kind[kind]++;
    }
    ErrorRecord rec{n_.spec->id, kind, reason, input_ ? input_->msg.key() : Key{}};
    const int p = n_.errors_port;
    if (p < 0) {
      spdlog::warn("{}: {}: {}", n_.spec->id, kind, reason);
      return;
    }
    // Errors past max_out in one call (a batch whose clips fail one by one) still reach the errors port, but
    // hold no slot of this call: a record is small and a call reports at most one per item it holds, so the
    // edge stays bounded by the node's own input.
    const bool within = flushing_ || emitted_[p] < n_.max_out;
    emitted_[p]++;
    Envelope env;
    env.stream_seq = stream_seq(p);
    env.msg = Message::make(rec.key, std::move(rec));
    for (EdgeRt* e : n_.out_edges[p]) deliver(*e, env, within ? f_ : nullptr);
  }

  /// Key-preserving ports that emitted nothing for this input send a tombstone where order is restored.
  void finish() {
    if (!input_) return;
    for (size_t p = 0; p < n_.out_edges.size(); ++p) {
      if (emitted_[p] || !n_.out_tomb[p]) continue;
      Envelope env;
      env.stream_seq = input_->stream_seq;
      env.tombstone = true;
      for (EdgeRt* e : n_.out_edges[p]) deliver(*e, env, f_);
    }
  }

 private:
  uint64_t stream_seq(int port) {
    if (n_.out_new[port] || !input_) return n_.out_seq[port].fetch_add(1, std::memory_order_relaxed);
    return input_->stream_seq;
  }
  NodeRt& n_;
  Firing* f_;
  const Envelope* input_;
  bool flushing_;
  std::array<int, 16> emitted_;
  int errors_ = 0;
  std::string last_error_;
};

size_t terminal_width() {
  winsize w{};
  if (ioctl(STDERR_FILENO, TIOCGWINSZ, &w) == 0 && w.ws_col > 20) return w.ws_col;
  return 120;
}

}  // namespace

struct Runtime::Impl {
  const GraphSpec spec;  // own copy: NodeRt/EdgeRt point into it
  RunOptions opts;
  flow::graph g;
  std::vector<std::unique_ptr<NodeRt>> nodes;
  std::vector<std::unique_ptr<EdgeRt>> edges;
  std::atomic<bool> stop{false};
  std::atomic<int> stop_signal{0};
  std::mutex stop_mu;
  std::string stop_reason;  // a node's reason when it ended the run (stop_signal 0)
  std::string run_failure;  // a node's reason when it failed the run (Emitter::fail_run)
  Clock::time_point t0 = Clock::now();
  uint64_t tick0 = ticks();
  std::string construct_failure;

  Impl(const GraphSpec& s, RunOptions o) : spec(s), opts(o) {
    // Nodes share with each other through services too (a resumed trainer tells its reader where to start),
    // so every run has them, whether or not the program around it asked.
    if (!opts.services) opts.services = std::make_shared<Services>();
    build();
  }
  // Tasks that edge set-up spawned must finish while the nodes they point to still exist.
  ~Impl() { g.wait_for_all(); }

  void build() {
    const int n = static_cast<int>(spec.nodes.size());
    for (int i = 0; i < n; ++i) {
      auto rt = std::make_unique<NodeRt>();
      rt->spec = &spec.nodes[i];
      rt->index = i;
      const auto& c = *rt->spec->contract;
      rt->source = c.is_source();
      rt->errors_port = c.errors_index();
      rt->max_out = c.max_out;
      rt->out_edges.resize(c.output_count());
      rt->out_new.assign(c.output_count(), 0);
      rt->out_tomb.assign(c.output_count(), 0);
      rt->out_seq.reset(new std::atomic<uint64_t>[c.output_count()]);
      for (int p = 0; p < c.output_count(); ++p) {
        rt->out_seq[p] = 0;
        rt->out_new[p] = rt->source || (p != rt->errors_port && c.outputs[p].keys == KeyMode::New);
      }
      if (construct_failure.empty()) {
        try {
          NodeConfig cfg{rt->spec->id,          &c,          rt->spec->options,
                         rt->spec->concurrency, opts.worker, spec.registry,
                         opts.services.get()};
          rt->node = c.create(cfg);
        } catch (const std::exception& e) {
          construct_failure = "node '" + rt->spec->id + "' (" + c.type + "): " + e.what();
        }
      }
      nodes.push_back(std::move(rt));
    }
    for (size_t k = 0; k < spec.edges.size(); ++k) {
      auto e = std::make_unique<EdgeRt>();
      e->spec = &spec.edges[k];
      e->index = static_cast<int>(k);
      e->counted = e->spec->policy == EdgePolicy::Block && !e->spec->back;
      e->to = nodes[e->spec->to_node].get();
      nodes[e->spec->from_node]->out_edges[e->spec->from_port].push_back(e.get());
      e->to->in_edges.push_back(e.get());
      edges.push_back(std::move(e));
    }
    // Tombstones are needed on key-preserving ports that lead (through key-preserving nodes) to an ordered
    // port.
    for (auto it = spec.topo_order.rbegin(); it != spec.topo_order.rend(); ++it) {
      NodeRt& nr = *nodes[*it];
      for (size_t p = 0; p < nr.out_edges.size(); ++p) {
        if (nr.out_new[p]) continue;
        for (EdgeRt* e : nr.out_edges[p]) {
          NodeRt& to = *e->to;
          bool need = to.spec->ordered[e->spec->to_port];
          for (size_t q = 0; q < to.out_edges.size() && !need; ++q) need = !to.out_new[q] && to.out_tomb[q];
          if (need && !e->spec->back) nr.out_tomb[p] = 1;
        }
      }
    }
    for (auto& nr : nodes) {
      nr->stop_run = [this](const std::string& why) { request_stop(0, why); };
      nr->fail_run = [this](const std::string& why) {
        {
          std::lock_guard<std::mutex> lk(stop_mu);
          if (run_failure.empty()) run_failure = why;
        }
        request_stop(0, why);
      };
    }
    for (auto& nr : nodes) {
      int th = 0;
      for (auto& port : nr->out_edges)
        for (EdgeRt* e : port)
          if (e->counted) th = th ? std::min(th, e->spec->capacity) : e->spec->capacity;
      nr->threshold = th ? std::max(1, th / nr->max_out) : 0;
      nr->low_water = nr->threshold / 2;
      if (!nr->source) make_tbb_nodes(*nr);
    }
    link_feeders();
  }

  // For each ordered port: the non-source nodes whose key-preserving outputs lead to it (directly or through
  // other such nodes). They admit the message it waits for beyond their limit (NodeRt::admit).
  void link_feeders() {
    for (auto& x : nodes) {
      if (x->source) continue;
      for (EdgeRt* e : x->in_edges) {
        const auto& lane = x->lanes[static_cast<size_t>(e->lane)];
        if (!lane.ordered) continue;
        std::vector<const EdgeRt*> todo{e};
        std::set<NodeRt*> seen;
        while (!todo.empty()) {
          const EdgeRt* in = todo.back();
          todo.pop_back();
          NodeRt* from = nodes[in->spec->from_node].get();
          if (in->spec->back || from->source || from->out_new[in->spec->from_port] ||
              !seen.insert(from).second)
            continue;
          from->wanted = lane.next_pub.get();
          x->feeders.push_back(from);
          for (EdgeRt* up : from->in_edges) todo.push_back(up);
        }
      }
    }
  }

  void make_tbb_nodes(NodeRt& nr) {
    NodeRt* self = &nr;
    nr.body = std::make_unique<flow::function_node<Envelope, flow::continue_msg, flow::queueing>>(
        g, static_cast<size_t>(nr.spec->concurrency),
        [this, self](const Envelope& env) -> flow::continue_msg {
          this->fire(*self, env);
          return flow::continue_msg();
        });
    // Slots: the bound of the node's blocking outputs. Without any, admit only as many as run at once when a
    // drop_oldest edge comes in (so that waiting messages stay droppable), else everything.
    bool drop_in = false;
    for (EdgeRt* e : nr.in_edges) drop_in |= e->spec->policy == EdgePolicy::DropOldest;
    if (nr.threshold)
      nr.limit = nr.threshold;
    else if (drop_in)
      nr.limit = nr.spec->concurrency;
    const auto& c = *nr.spec->contract;
    std::vector<int> port_lane(c.inputs.size(), -1);
    for (EdgeRt* e : nr.in_edges) {
      const int p = e->spec->to_port;
      if (nr.spec->ordered[p]) {
        if (port_lane[p] < 0) {
          port_lane[p] = static_cast<int>(nr.lanes.size());
          nr.lanes.emplace_back();
          nr.lanes.back().ordered = true;
          nr.lanes.back().next_pub = std::make_unique<std::atomic<uint64_t>>(0);
        }
        e->lane = port_lane[p];
      } else {
        e->lane = static_cast<int>(nr.lanes.size());
        nr.lanes.emplace_back();
      }
    }
  }

  void fire(NodeRt& nr, const Envelope& env) {
    EdgeRt& e = *edges[env.edge];
    e.depth.fetch_sub(1, std::memory_order_acq_rel);
    e.passed.fetch_add(1, std::memory_order_relaxed);
    Firing* f = nr.new_firing();
    release(env.firing);
    CallEmitter em(nr, f, &env, false);
    if (!env.tombstone) {
      nr.in.fetch_add(1, std::memory_order_relaxed);
      const uint64_t t = ticks();
      try {
        nr.node->process(env.port, env.msg, em);
      } catch (const InvariantError& ex) {  // a broken invariant: a bug, not bad input
        em.error("bug", ex.what());
        em.fail_run(std::string("broken invariant: ") + ex.what());
      } catch (const std::exception& ex) {
        em.error("exception", ex.what());
      } catch (...) {
        em.error("exception", "unknown exception");
      }
      nr.busy_ticks.fetch_add(ticks() - t, std::memory_order_relaxed);
      if (!em.failed()) {
        nr.fail_streak.store(0, std::memory_order_relaxed);
      } else if (nr.fail_streak.fetch_add(1, std::memory_order_relaxed) + 1 == kMaxFailuresInARow) {
        em.fail_run("its last " + std::to_string(kMaxFailuresInARow) +
                    " inputs all failed, so the run can only fail (the last: " + em.last_error() + ")");
      }
    }
    em.finish();
    release(f);
  }

  void source_loop(NodeRt& nr) {
    int consecutive_failures = 0;
    while (!stop.load(std::memory_order_acquire)) {
      if (nr.threshold && nr.outstanding.load() >= nr.threshold) {
        std::unique_lock<std::mutex> lk(nr.mu);
        nr.waiting.store(true);  // seq_cst with slot_free's decrement: one of the two sees the other
        nr.cv.wait(lk, [&] { return stop.load() || nr.outstanding.load() <= nr.low_water; });
        nr.waiting.store(false);
      }
      if (stop.load(std::memory_order_acquire)) break;
      Firing* f = nr.new_firing();
      CallEmitter em(nr, f, nullptr, false);
      bool more = true;
      const uint64_t t = ticks();
      try {
        more = nr.node->produce(em);
        consecutive_failures = 0;
      } catch (const std::exception& ex) {
        em.error("exception", ex.what());
        ++consecutive_failures;
      } catch (...) {
        em.error("exception", "unknown exception");
        ++consecutive_failures;
      }
      nr.busy_ticks.fetch_add(ticks() - t, std::memory_order_relaxed);
      release(f);
      if (consecutive_failures >= kMaxSourceFailuresInARow) {
        spdlog::error("{}: source failed {} times in a row; stopping it", nr.spec->id,
                      kMaxSourceFailuresInARow);
        break;
      }
      if (!more) break;
    }
    g.release_wait();
  }

  void request_stop(int signo, const std::string& reason = "") {
    if (stop.exchange(true)) return;
    stop_signal = signo;
    {
      std::lock_guard<std::mutex> lk(stop_mu);
      stop_reason = reason;
    }
    for (auto& nr : nodes) {
      if (!nr->source) continue;
      {
        std::lock_guard<std::mutex> lk(nr->mu);
        nr->cv.notify_all();
      }
      if (nr->node) nr->node->interrupt();
    }
  }

  RunMetrics snapshot() const {
    RunMetrics m;
    m.graph = spec.name;
    m.elapsed_s = std::chrono::duration<double>(Clock::now() - t0).count();
    const uint64_t dt = ticks() - tick0;
    const double seconds_per_tick = dt > 0 && m.elapsed_s > 0 ? m.elapsed_s / static_cast<double>(dt) : 0;
    for (const auto& e : edges) {
      EdgeMetrics em;
      em.text = e->spec->text;
      em.capacity = e->spec->capacity;
      em.policy = e->spec->back ? "back" : policy_name(e->spec->policy);
      em.depth = e->depth.load();
      em.max_depth = e->max_depth.load();
      em.passed = e->passed.load();
      em.dropped = e->dropped.load();
      m.edges.push_back(em);
    }
    for (const auto& nr : nodes) {
      NodeMetrics nm;
      nm.id = nr->spec->id;
      nm.type = nr->spec->contract->type;
      nm.source = nr->source;
      nm.in = nr->in.load();
      nm.out = nr->out.load();
      nm.errors = nr->errors.load();
      {
        std::lock_guard<std::mutex> lk(nr->err_mu);
        nm.errors_by_kind = nr->errors_by_kind;
      }
      nm.busy_s = static_cast<double>(nr->busy_ticks.load()) * seconds_per_tick;
      for (EdgeRt* e : nr->in_edges) nm.queue += e->depth.load();
      nm.per_s = m.elapsed_s > 0 ? (nr->source ? nm.out : nm.in) / m.elapsed_s : 0;
      if (nr->node && nr->opened) {
        if (nr->source) nm.expected_total = nr->node->expected_total();
        nm.gauges = nr->node->gauges();
        if (auto p = nr->node->progress()) {
          nm.progress_start = p->start;
          nm.progress_done = p->done;
          nm.progress_total = p->total;
        }
      }
      nm.progress_gauges = nr->spec->contract->progress_gauges;
      m.nodes.push_back(std::move(nm));
    }
    return m;
  }

  RunMetrics finish(RunMetrics m, int code, const std::string& status, const std::string& failure) {
    m.exit_code = code;
    m.status = status;
    m.failure = failure;
    return m;
  }

  RunMetrics run() {
    t0 = Clock::now();
    tick0 = ticks();
    int threads = opts.threads > 0 ? opts.threads : static_cast<int>(std::thread::hardware_concurrency());
    tbb::global_control gc(tbb::global_control::max_allowed_parallelism,
                           static_cast<size_t>(std::max(1, threads)));
    if (!construct_failure.empty()) return finish(snapshot(), 1, "failed", construct_failure);

    std::string failure;
    for (int i : spec.topo_order) {
      auto& nr = *nodes[i];
      try {
        nr.node->open();
        nr.opened = true;
      } catch (const std::exception& e) {
        failure = "node '" + nr.spec->id + "' (" + nr.spec->contract->type + ") failed to open: " + e.what();
        break;
      }
    }
    if (!failure.empty()) {
      close_all(nullptr);
      return finish(snapshot(), 1, "failed", failure);
    }

    // Progress reporter.
    std::mutex rep_mu;
    std::condition_variable rep_cv;
    bool rep_done = false;
    const bool tty = console_is_tty();
    double interval = opts.quiet                   ? 0
                      : opts.progress_interval < 0 ? (tty ? 1.0 : 10.0)
                                                   : opts.progress_interval;
    std::thread reporter;
    if (interval > 0) {
      reporter = std::thread([&] {
        RunMetrics prev = snapshot();
        std::unique_lock<std::mutex> lk(rep_mu);
        while (!rep_cv.wait_for(lk, std::chrono::duration<double>(interval), [&] { return rep_done; })) {
          RunMetrics now = snapshot();
          if (tty) {
            console_progress(progress_line(now, &prev, terminal_width() - 1));
          } else {
            spdlog::info("{}", progress_line(now, &prev));
          }
          prev = std::move(now);
        }
      });
    }

    for (auto& nr : nodes) {
      if (!nr->source) continue;
      g.reserve_wait();
      NodeRt* p = nr.get();
      nr->thread = std::thread([this, p] { source_loop(*p); });
    }
    g.wait_for_all();
    for (auto& nr : nodes)
      if (nr->thread.joinable()) nr->thread.join();

    // Flush in topological order so that what one node flushes reaches the next before it flushes.
    for (int i : spec.topo_order) {
      auto& nr = *nodes[i];
      CallEmitter em(nr, nullptr, nullptr, true);
      try {
        nr.node->flush(em);
      } catch (const std::exception& e) {
        if (failure.empty()) failure = "node '" + nr.spec->id + "' failed to flush: " + e.what();
      }
      g.wait_for_all();
    }
    close_all(&failure);

    {
      std::lock_guard<std::mutex> lk(rep_mu);
      rep_done = true;
    }
    rep_cv.notify_all();
    if (reporter.joinable()) reporter.join();
    if (tty) console_progress_done();

    RunMetrics m = snapshot();
    if (failure.empty()) {
      std::lock_guard<std::mutex> lk(stop_mu);
      failure = run_failure;
    }
    if (!failure.empty()) return finish(std::move(m), 1, "failed", failure);
    const int sig = stop_signal.load();
    if (sig)
      return finish(std::move(m), 128 + sig,
                    std::string("stopped by ") + (sig == SIGINT    ? "SIGINT"
                                                  : sig == SIGTERM ? "SIGTERM"
                                                                   : "signal " + std::to_string(sig)),
                    "");
    std::lock_guard<std::mutex> lk(stop_mu);
    return finish(std::move(m), 0,
                  stop_reason.empty() ? "completed" : "completed (stopped by " + stop_reason + ")", "");
  }

  void close_all(std::string* failure) {
    for (int i : spec.topo_order) {
      auto& nr = *nodes[i];
      if (!nr.opened) continue;
      try {
        nr.node->close();
      } catch (const std::exception& e) {
        if (failure && failure->empty()) *failure = "node '" + nr.spec->id + "' failed to close: " + e.what();
      }
    }
  }
};

Runtime::Runtime(const GraphSpec& spec, RunOptions options) : impl_(std::make_unique<Impl>(spec, options)) {}
Runtime::~Runtime() = default;
RunMetrics Runtime::run() {
  return impl_->run();
}
void Runtime::request_stop(int signo) {
  impl_->request_stop(signo);
}
RunMetrics Runtime::snapshot() const {
  return impl_->snapshot();
}

}  // namespace vatt::pipeline
