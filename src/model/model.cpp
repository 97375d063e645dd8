// Model: the graph (validated, in topological order), forward and backward through it, weights,
// summary and compile. Training (fit, evaluate, predict, check) is in training.cpp, the file
// format in model_io.cpp.
#include "recur/model/model.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include "graph_impl.hpp"
#include "recur/core/error.hpp"
#include "recur/layers/merge.hpp"
#include "recur/layers/recurrent.hpp"
#include "recur/layers/wrappers.hpp"
#include "recur/layers/wrappers.hpp"
#include "summary_format.hpp"

namespace recur {
namespace {

// a += b (a empty: a = b).
void accumulate(Tensor& a, const Tensor& b) {
  if (b.empty()) return;
  if (a.empty()) {
    a = b;
    return;
  }
  for (std::size_t i = 0; i < a.size(); ++i) a[i] += b[i];
}

// The same, taking b's storage when a is still empty; b goes to the pool otherwise.
void accumulate(Tensor& a, Tensor&& b) {
  if (b.empty()) return;
  if (a.empty()) {
    a = std::move(b);
    return;
  }
  for (std::size_t i = 0; i < a.size(); ++i) a[i] += b[i];
  recycle(std::move(b));
}

// Moves the storage of every tensor of `ts` to the current pool (they are left empty).
void recycle_all(std::vector<Tensor>& ts) {
  for (Tensor& t : ts) recycle(std::move(t));
}

bool is_stateful(Layer& layer) {
  std::vector<RNN*> rnns;
  if (auto* r = dynamic_cast<RNN*>(&layer)) rnns.push_back(r);
  if (auto* bi = dynamic_cast<Bidirectional*>(&layer)) rnns = {&bi->forward_layer(), &bi->backward_layer()};
  for (RNN* r : rnns)
    if (r->rnn_options().stateful()) return true;
  return false;
}

}  // namespace

// ---- construction -------------------------------------------------------------------------------

Model::Model(std::string name) : name_(std::move(name)) {}

Model::Model(std::vector<SymbolicTensor> inputs, std::vector<SymbolicTensor> outputs, std::string name)
    : name_(std::move(name)) {
  set_graph(std::move(inputs), std::move(outputs));
}

Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;
Model::~Model() = default;

void Model::set_graph(std::vector<SymbolicTensor> inputs, std::vector<SymbolicTensor> outputs) {
  const std::string who = kind() + " model '" + name_ + "'";
  if (inputs.empty() || outputs.empty())
    throw ValueError(who + ": a model needs at least one input and one output, got " + std::to_string(inputs.size()) +
                         " and " + std::to_string(outputs.size()) + ".",
                     codes::kGraphDisconnected);
  std::map<const Node*, std::size_t> input_slot;
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    const SymbolicTensor& x = inputs[k];
    if (!x.valid() || !x.node()->is_input())
      throw ValueError(who + ": inputs[" + std::to_string(k) + "] (" + x.ref() + ") is not a recur::Input; a "
                           "model's inputs are the symbolic tensors recur::Input made.",
                       codes::kGraphDisconnected);
    if (!input_slot.emplace(x.node().get(), k).second)
      throw ValueError(who + ": input '" + x.node()->name() + "' is listed twice.", codes::kGraphDisconnected);
  }
  // Every node the outputs depend on, depth first; an Input reached that is not among `inputs`
  // disconnects the graph, and a node met again while its inputs are being visited is a cycle.
  std::map<const Node*, int> state;  // 1 visiting, 2 done
  std::vector<std::shared_ptr<Node>> order;
  std::set<std::size_t> used_inputs;
  std::function<void(const SymbolicTensor&, const std::string&)> visit = [&](const SymbolicTensor& t,
                                                                             const std::string& path) {
    if (!t.valid()) throw ValueError(who + ": an output or a layer input is an empty SymbolicTensor.", codes::kGraphDisconnected);
    const auto& node = t.node();
    if (node->is_input()) {
      const auto it = input_slot.find(node.get());
      if (it == input_slot.end()) {
        std::string listed;
        for (const auto& x : inputs) listed += (listed.empty() ? "" : ", ") + ("'" + x.node()->name() + "'");
        throw ValueError(who + " is disconnected: " + path + " depends on the input '" + node->name() +
                             "', which is not among the model's inputs (" + listed + "). Add it to the inputs.",
                         codes::kGraphDisconnected);
      }
      used_inputs.insert(it->second);
      return;
    }
    int& s = state[node.get()];
    if (s == 2) return;
    if (s == 1)
      throw ValueError(who + " has a cycle through " + t.ref() + "; a model's graph must be acyclic.",
                       codes::kGraphDisconnected);
    s = 1;
    for (const auto& in : node->all_inputs()) visit(in, path);
    state[node.get()] = 2;
    order.push_back(node);
  };
  for (std::size_t k = 0; k < outputs.size(); ++k) visit(outputs[k], "output " + std::to_string(k) + " (" + outputs[k].ref() + ")");
  for (std::size_t k = 0; k < inputs.size(); ++k)
    if (!used_inputs.count(k))
      throw ValueError(who + ": input '" + inputs[k].node()->name() + "' is used by no output. Remove it from the "
                           "inputs, or connect it (an input no output depends on is usually a wiring mistake).",
                       codes::kGraphDisconnected);
  // Creation order is a topological order (a node's inputs exist before it), and it is the
  // order the user wrote the calls in.
  std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) { return a->id < b->id; });

  auto graph = std::make_unique<Graph>();
  graph->input_count = inputs.size();
  std::map<const Node*, std::size_t> slot;
  for (const auto& [node, k] : input_slot) slot[node] = k;
  std::vector<std::shared_ptr<Layer>> layers;
  std::map<std::string, const Layer*> names;
  std::map<const Layer*, std::size_t> calls;
  for (const auto& node : order) {
    Graph::Entry e;
    e.node = node;
    Layer* layer = node->layer.get();
    if (calls[layer]++ == 0) {
      const auto [it, fresh] = names.emplace(layer->name(), layer);
      if (!fresh)
        throw ValueError(who + ": two different layers are named '" + layer->name() + "'; layer names must be "
                             "unique in a model (they key the weights in its file).",
                         codes::kGraphDisconnected);
      layers.push_back(node->layer);
    }
    for (const auto& in : node->inputs) e.args.push_back({slot.at(in.node().get()), in.index()});
    for (const auto& in : node->initial_state) e.state_args.push_back({slot.at(in.node().get()), in.index()});
    if (dynamic_cast<Merge*>(layer)) e.kind = Graph::Kind::kMerge;
    else if (auto* rnn = dynamic_cast<RNN*>(layer);
             rnn && (!node->initial_state.empty() || rnn->rnn_options().return_state()))
      e.kind = Graph::Kind::kRecurrent;
    else if (auto* bi = dynamic_cast<Bidirectional*>(layer); bi && (!node->initial_state.empty() || bi->return_state()))
      e.kind = Graph::Kind::kBidirectional;
    slot[node.get()] = graph->input_count + graph->entries.size();
    graph->entries.push_back(std::move(e));
  }
  for (auto& e : graph->entries) {
    e.shared = calls[e.node->layer.get()] > 1;
    if (e.shared && is_stateful(*e.node->layer))
      throw ValueError(who + ": the stateful layer " + e.node->layer->type() + " '" + e.node->layer->name() +
                           "' is called " + std::to_string(calls[e.node->layer.get()]) +
                           " times; a stateful layer keeps one set of states and cannot be shared.",
                       codes::kGraphCall);
  }
  for (const auto& out : outputs) graph->output_refs.push_back({slot.at(out.node().get()), out.index()});
  for (const auto& x : inputs) {
    std::vector<Layer*> consumers;
    for (const auto& e : graph->entries)
      for (const auto& a : e.args)
        if (a.first == slot.at(x.node().get()) && std::find(consumers.begin(), consumers.end(), e.node->layer.get()) == consumers.end())
          consumers.push_back(e.node->layer.get());
    graph->input_consumers.push_back(consumers);
  }
  inputs_ = std::move(inputs);
  outputs_ = std::move(outputs);
  layers_ = std::move(layers);
  graph_ = std::move(graph);
  built_ = true;
}

void Model::require_built(const std::string& caller) const {
  if (!built_)
    throw ValueError(caller + ": the model is not built; call build({timesteps, features}), fit, or load a "
                              "saved model first.");
}

std::vector<std::string> Model::input_names() const {
  std::vector<std::string> out;
  for (const auto& x : inputs_) out.push_back(x.node()->name());
  return out;
}

std::vector<std::string> Model::output_names() const {
  std::vector<std::string> out;
  for (const auto& y : outputs_) {
    std::string n = y.node()->name();
    if (std::count(out.begin(), out.end(), n)) n += "_" + std::to_string(y.index());
    while (std::count(out.begin(), out.end(), n)) n += "_";
    out.push_back(n);
  }
  return out;
}

Layer& Model::get_layer(const std::string& name) const {
  std::string all;
  for (const auto& l : layers_) {
    if (l->name() == name) return *l;
    all += (all.empty() ? "" : ", ") + l->name();
  }
  throw ValueError("get_layer: model '" + name_ + "' has no layer named '" + name + "'; its layers are " + all + ".");
}

std::string Model::describe_input(std::size_t k) const {
  return "input '" + inputs_.at(k).node()->name() + "'" + (inputs_.size() > 1 ? " (input " + std::to_string(k) + ")" : "");
}

// ---- forward / backward ------------------------------------------------------------------------

std::vector<Tensor> Model::forward(const std::vector<Tensor>& xs, bool training) {
  require_built("forward");
  Graph& g = *graph_;
  if (xs.size() != g.input_count)
    throw ValueError("forward: model '" + name_ + "' has " + std::to_string(g.input_count) + " inputs, got " +
                         std::to_string(xs.size()) + " tensors.",
                     codes::kGraphData);
  TensorPoolScope scope(&g.pool);
  g.training = training;
  g.inputs = xs;
  for (std::size_t e = 0; e < g.entries.size(); ++e) g.run_forward(e);
  std::vector<Tensor> out;
  output_masks_.clear();
  for (const auto& [slot, index] : g.output_refs) {
    out.push_back(g.value(slot, index));
    output_masks_.push_back(g.mask(slot, index));
  }
  return out;
}

Tensor Model::forward(const Tensor& x, bool training) {
  if (inputs_.size() != 1 || outputs_.size() != 1)
    throw ValueError("forward: model '" + name_ + "' has " + std::to_string(inputs_.size()) + " inputs and " +
                         std::to_string(outputs_.size()) + " outputs; pass a vector of tensors.",
                     codes::kGraphData);
  return forward(std::vector<Tensor>{x}, training)[0];
}

const Tensor& Model::output_mask() const noexcept {
  static const Tensor none;
  return output_masks_.empty() ? none : output_masks_[0];
}

std::vector<Tensor> Model::backward(const std::vector<Tensor>& dys) {
  require_built("backward");
  Graph& g = *graph_;
  if (dys.size() != g.output_refs.size())
    throw ValueError("backward: model '" + name_ + "' has " + std::to_string(g.output_refs.size()) +
                         " outputs, got " + std::to_string(dys.size()) + " gradients.",
                     codes::kGraphData);
  TensorPoolScope scope(&g.pool);
  for (auto& slot_grads : g.grads) recycle_all(slot_grads);
  g.grads.resize(g.input_count + g.entries.size());
  for (std::size_t s = 0; s < g.grads.size(); ++s)
    g.grads[s].resize(s < g.input_count ? 1 : g.entries[s - g.input_count].outputs.size());
  for (std::size_t k = 0; k < dys.size(); ++k) {
    const auto& [slot, index] = g.output_refs[k];
    accumulate(g.grads[slot][index], dys[k]);
  }
  for (std::size_t e = g.entries.size(); e-- > 0;) g.run_backward(e);
  std::vector<Tensor> dxs;
  for (std::size_t k = 0; k < g.input_count; ++k) dxs.push_back(std::move(g.grads[k][0]));
  return dxs;
}

Tensor Model::backward(const Tensor& dy) { return backward(std::vector<Tensor>{dy}).at(0); }

const Tensor& Model::Graph::value(std::size_t slot, std::size_t index) const {
  return slot < input_count ? inputs.at(slot) : entries.at(slot - input_count).outputs.at(index);
}

const Tensor& Model::Graph::mask(std::size_t slot, std::size_t index) const {
  static const Tensor none;
  return slot < input_count ? none : entries.at(slot - input_count).masks.at(index);
}

void Model::Graph::run_forward(std::size_t e_index) {
  Entry& e = entries[e_index];
  Layer& layer = *e.node->layer;
  if (e.shared) {
    e.rng_states.clear();
    for (Rng* r : layer.random_generators()) e.rng_states.push_back(r->state());
  }
  // This entry's last outputs are read by no one now (the entries after it ran on them
  // already): their storage goes to the pool for this call's layers.
  recycle_all(e.outputs);
  e.outputs.clear();
  e.masks.clear();
  // The first input and its mask: all of a plain or recurrent layer's, a merge's first.
  const Tensor& x = value(e.args[0].first, e.args[0].second);
  const Tensor& m = mask(e.args[0].first, e.args[0].second);
  switch (e.kind) {
    case Kind::kPlain: {
      Tensor next_mask = layer.compute_mask(x, m);
      e.outputs.push_back(m.empty() ? layer.forward(x, training) : layer.forward_masked(x, m, training));
      e.masks.push_back(std::move(next_mask));
      break;
    }
    case Kind::kMerge: {
      std::vector<Tensor> xs, masks;
      for (const auto& [slot, index] : e.args) {
        xs.push_back(value(slot, index));
        masks.push_back(mask(slot, index));
      }
      auto& merge = static_cast<Merge&>(layer);
      e.outputs.push_back(merge.forward_inputs(xs));
      e.masks.push_back(merge.merge_masks(masks));
      break;
    }
    case Kind::kRecurrent: {
      auto& rnn = static_cast<RNN&>(layer);
      std::vector<Tensor> states;
      for (const auto& [slot, index] : e.state_args) states.push_back(value(slot, index));
      Tensor next_mask = layer.compute_mask(x, m);
      RecurrentOutput r = rnn.call(x, states, m, training);
      e.outputs.push_back(std::move(r.output));
      e.masks.push_back(std::move(next_mask));
      for (auto& s : r.states) {
        if (!rnn.rnn_options().return_state()) {
          recycle(std::move(s));
          continue;
        }
        e.outputs.push_back(std::move(s));
        e.masks.emplace_back();
      }
      break;
    }
    case Kind::kBidirectional: {
      auto& bi = static_cast<Bidirectional&>(layer);
      std::vector<Tensor> states;
      for (const auto& [slot, index] : e.state_args) states.push_back(value(slot, index));
      Tensor next_mask = layer.compute_mask(x, m);
      e.outputs = bi.call(x, states, m, training);
      e.masks.assign(e.outputs.size(), Tensor());
      e.masks[0] = std::move(next_mask);
      break;
    }
  }
  last_forward[&layer] = e_index;
}

void Model::Graph::run_backward(std::size_t e_index) {
  Entry& e = entries[e_index];
  std::vector<Tensor>& dys = grads[input_count + e_index];
  if (std::all_of(dys.begin(), dys.end(), [](const Tensor& t) { return t.empty(); })) return;
  Layer& layer = *e.node->layer;
  if (e.shared && last_forward[&layer] != e_index) {
    // A shared layer's caches hold its last call: run this call again, with the generators as
    // they were before it (the same dropout masks), so that backward sees this call's values.
    const std::vector<Rng*> rngs = layer.random_generators();
    for (std::size_t k = 0; k < rngs.size() && k < e.rng_states.size(); ++k) rngs[k]->set_state(e.rng_states[k]);
    run_forward(e_index);
  }
  // An output nothing read gets a zero gradient of the shape this forward gave it (its node's
  // shape may have None timesteps).
  for (std::size_t k = 0; k < dys.size(); ++k)
    if (dys[k].empty() && !((e.kind == Kind::kRecurrent || e.kind == Kind::kBidirectional) && k > 0))
      dys[k] = Tensor(e.outputs.at(k).shape());
  std::vector<Tensor> dxs, dstates;
  switch (e.kind) {
    case Kind::kPlain:
      dxs.push_back(layer.backward(dys[0]));
      break;
    case Kind::kMerge:
      dxs = static_cast<Merge&>(layer).backward_inputs(dys[0]);
      break;
    case Kind::kRecurrent: {
      std::vector<Tensor> d_final(dys.begin() + 1, dys.end());
      RecurrentGradients r = static_cast<RNN&>(layer).backward_with_state(dys[0], d_final);
      dxs.push_back(std::move(r.dx));
      dstates = std::move(r.dstates);
      break;
    }
    case Kind::kBidirectional: {
      std::vector<Tensor> r = static_cast<Bidirectional&>(layer).backward_with_states(dys);
      dxs.push_back(std::move(r[0]));
      dstates.assign(std::make_move_iterator(r.begin() + 1), std::make_move_iterator(r.end()));
      break;
    }
  }
  // This entry's output gradients are spent: their storage goes to the pool.
  recycle_all(dys);
  for (std::size_t k = 0; k < e.args.size(); ++k)
    accumulate(grads[e.args[k].first][e.args[k].second], std::move(dxs.at(k)));
  for (std::size_t k = 0; k < e.state_args.size() && k < dstates.size(); ++k)
    accumulate(grads[e.state_args[k].first][e.state_args[k].second], std::move(dstates[k]));
  recycle_all(dstates);  // the gradients of initial states nothing passed in
}

void Model::reset_states() {
  for (auto& l : layers_) l->reset_states();
}

std::vector<Weight*> Model::trainable_weights() {
  std::vector<Weight*> ws;
  for (auto& l : layers_)
    for (Weight* w : l->weights()) ws.push_back(w);
  return ws;
}

void Model::zero_grad() {
  for (auto& l : layers_) l->zero_grad();
}

bool Model::has_stateful_layer() const {
  for (const auto& l : layers_)
    if (is_stateful(*l)) return true;
  return false;
}

// ---- weights -----------------------------------------------------------------------------------

std::vector<Tensor> Model::get_weights() const {
  std::vector<Tensor> out;
  for (const auto& l : layers_)
    for (const Weight* w : std::as_const(*l).weights()) out.push_back(w->value);
  return out;
}

void Model::set_weights(const std::vector<Tensor>& weights) {
  if (!built_)
    throw ValueError("set_weights: the model is not built, so it has no weights yet; call "
                     "build({timesteps, features}) first.");
  std::vector<std::pair<const Layer*, Weight*>> targets;
  for (auto& l : layers_)
    for (Weight* w : l->weights()) targets.emplace_back(l.get(), w);
  if (weights.size() != targets.size()) {
    std::string expected;
    for (const auto& [l, w] : targets)
      expected += (expected.empty() ? "" : ", ") + l->name() + "/" + w->name + " " + w->value.shape_str();
    throw ValueError("set_weights: the model expects " + std::to_string(targets.size()) +
                         " arrays in this order: " + expected + "; got " + std::to_string(weights.size()) + " arrays.",
                     codes::kWeightCount);
  }
  for (std::size_t i = 0; i < targets.size(); ++i) {
    const auto& [l, w] = targets[i];
    const Shape& want = w->value.shape();
    const Shape& got = weights[i].shape();
    if (got == want) continue;
    std::string msg = "set_weights: " + l->type() + " '" + l->name() + "' weight '" + w->name + "' (array " +
                      std::to_string(i) + ") expects shape " + shape_str(want) + ", got " + shape_str(got) + ".";
    if (want.size() == 2 && got.size() == 2 && got[0] == want[1] && got[1] == want[0])
      msg += " The array is the transpose of the expected one: it looks like PyTorch's layout "
             "(weight_ih is (4*units, features)); pass its transpose. Keras's layout is "
             "kernel (features, 4*units), recurrent_kernel (units, 4*units).";
    throw ShapeError(msg, codes::kWeightShape);
  }
  for (std::size_t i = 0; i < targets.size(); ++i) targets[i].second->value = weights[i];
}

std::size_t Model::count_params() const {
  std::size_t n = 0;
  for (const auto& l : layers_) n += l->count_params();
  return n;
}

// ---- summary -----------------------------------------------------------------------------------

std::string Model::summary() const {
  require_built("summary");
  // Keras 2's Functional table: one row per Input and per layer (a shared layer once, with
  // every call's inputs under "Connected to").
  const std::size_t w0 = 31, w1 = 25, w2 = 12;
  const std::string rule(98, '_'), double_rule(98, '=');
  std::ostringstream out;
  out << "Model: \"" << name_ << "\"\n" << rule << "\n";
  out << detail::pad(" Layer (type)", w0) << detail::pad("Output Shape", w1) << detail::pad("Param #", w2)
      << "Connected to\n"
      << double_rule << "\n";
  std::vector<std::string> rows;
  for (const auto& x : inputs_) {
    std::ostringstream r;
    r << detail::pad(" " + x.node()->name() + " (InputLayer)", w0) << detail::pad("[" + shape_str(with_batch(x.shape())) + "]", w1)
      << detail::pad("0", w2) << "[]\n";
    rows.push_back(r.str());
  }
  for (const auto& layer : layers_) {
    std::vector<const Graph::Entry*> calls;
    for (const auto& e : graph_->entries)
      if (e.node->layer == layer) calls.push_back(&e);
    std::string shapes;
    for (const Shape& s : calls[0]->node->output_shapes) shapes += (shapes.empty() ? "" : ", ") + shape_str(with_batch(s));
    if (calls[0]->node->output_shapes.size() > 1) shapes = "[" + shapes + "]";
    std::vector<std::string> refs;
    for (const auto* e : calls)
      for (const auto& in : e->node->all_inputs()) refs.push_back("'" + in.ref() + "'");
    std::ostringstream r;
    r << detail::pad(" " + layer->name() + " (" + layer->type() + ")", w0) << detail::pad(shapes, w1)
      << detail::pad(detail::format_int(layer->count_params()), w2);
    std::string connected = "[";
    for (std::size_t i = 0; i < refs.size(); ++i) connected += (i ? ", " : "") + refs[i];
    r << connected << "]\n";
    rows.push_back(r.str());
  }
  for (std::size_t i = 0; i < rows.size(); ++i) out << rows[i] << (i + 1 < rows.size() ? "\n" : "");
  out << double_rule << "\n";
  out << "Total params: " << detail::format_int(count_params()) << "\n";
  out << "Trainable params: " << detail::format_int(count_params()) << "\n";
  out << "Non-trainable params: 0\n" << rule << "\n";
  return out.str();
}

// ---- compile -----------------------------------------------------------------------------------

void Model::compile(std::unique_ptr<Optimizer> optimizer, const std::string& loss, const std::vector<std::string>& metrics) {
  compile(std::move(optimizer), Loss{parse_loss(loss)}, metrics);
}

void Model::compile(std::unique_ptr<Optimizer> optimizer, const Loss& loss, const std::vector<std::string>& metrics) {
  compile(std::move(optimizer), std::vector<Loss>{loss}, metrics, {});
}

void Model::compile(const std::string& optimizer, const std::string& loss, const std::vector<std::string>& metrics) {
  compile(make_optimizer(optimizer), loss, metrics);
}

void Model::compile(const std::string& optimizer, const std::vector<std::string>& losses,
                    const std::vector<std::string>& metrics, const std::vector<double>& loss_weights) {
  std::vector<Loss> parsed;
  for (const auto& l : losses) parsed.push_back(Loss{parse_loss(l)});
  compile(make_optimizer(optimizer), parsed, metrics, loss_weights);
}

void Model::compile(std::unique_ptr<Optimizer> optimizer, const std::vector<Loss>& losses,
                    const std::vector<std::string>& metrics, const std::vector<double>& loss_weights) {
  if (!optimizer) throw ValueError("compile: optimizer is null; pass e.g. \"adam\".");
  const std::size_t outs = std::max<std::size_t>(outputs_.size(), 1);
  if (losses.empty() || (losses.size() != 1 && losses.size() != outs))
    throw ValueError("compile: model '" + name_ + "' has " + std::to_string(outs) + " output" + (outs == 1 ? "" : "s") +
                         "; give one loss for all or one per output, got " + std::to_string(losses.size()) + ".",
                     codes::kOutputLoss);
  if (!loss_weights.empty() && loss_weights.size() != outs)
    throw ValueError("compile: loss_weights needs one weight per output (" + std::to_string(outs) + "), got " +
                         std::to_string(loss_weights.size()) + ".",
                     codes::kOutputLoss);
  for (double w : loss_weights)
    if (!(std::isfinite(w) && w >= 0))
      throw ValueError("compile: loss_weights must be finite and >= 0, got " + std::to_string(w) + ".",
                       codes::kOutputLoss);
  std::vector<OutputConfig> config;
  std::vector<std::vector<MetricKind>> kinds;
  for (std::size_t k = 0; k < outs; ++k) {
    const Loss& loss = losses.size() == 1 ? losses[0] : losses[k];
    if (!(loss.delta > 0))
      throw ValueError("compile: huber delta must be > 0, got " + std::to_string(loss.delta) + ".");
    if (loss.from_logits && loss.kind != LossKind::kBinaryCrossentropy &&
        loss.kind != LossKind::kCategoricalCrossentropy && loss.kind != LossKind::kSparseCategoricalCrossentropy)
      throw ValueError("compile: from_logits applies only to the cross-entropy losses, not " + loss_name(loss.kind) + ".");
    config.push_back({loss, loss_weights.empty() ? 1.0 : loss_weights[k]});
    std::vector<MetricKind> m;
    for (const auto& name : metrics) {
      m.push_back(parse_metric(name, loss));
      // A sparse output's targets hold one class id per row: only the accuracies read them.
      if (loss.kind == LossKind::kSparseCategoricalCrossentropy && !is_accuracy(m.back()))
        throw ValueError("compile: metric \"" + name + "\" needs one target per output unit, but output " +
                             std::to_string(k) + " uses sparse_categorical_crossentropy (one class id per row). "
                             "Use \"accuracy\" for it, or one-hot targets with categorical_crossentropy.",
                         codes::kOutputLoss);
    }
    kinds.push_back(std::move(m));
  }
  optimizer_ = std::move(optimizer);
  output_config_ = std::move(config);
  metric_names_ = metrics;
  metrics_ = std::move(kinds);
}

void Model::require_compiled(const std::string& caller) const {
  if (output_config_.empty())
    throw ValueError(caller + ": the model is not compiled; call compile(optimizer, loss) first, e.g. "
                              "compile(\"adam\", \"mse\").");
}

}  // namespace recur
