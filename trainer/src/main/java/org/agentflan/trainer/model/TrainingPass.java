package org.agentflan.trainer.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import java.util.ArrayList;
import java.util.List;
import org.agentflan.trainer.model.LlamaModel.DecoderLayer;
import org.agentflan.trainer.model.LlamaModel.PassInputs;
import org.agentflan.trainer.model.LlamaModel.RmsNorm;

/**
 * One training forward pass and its backward ({@link LlamaModel#trainingForward}). Without activation options it is
 * the model's whole autograd graph, and {@link #backward} is autograd's. With them, the pass is cut at every decoder
 * layer's input: each layer is differentiated on its own, last to first, feeding the gradient of its output in and
 * taking the gradient of its input out, and the weights' gradients accumulate across the layers as in one graph.
 * <ul>
 *   <li><b>recompute</b>: the forward runs the layers without a graph and keeps only each layer's input
 *   {@code [B,T,H]}; the backward runs each layer again under autograd and differentiates it at once, so one layer's
 *   activations exist at a time (DJL has no {@code torch.utils.checkpoint}; this is its arithmetic, by hand).</li>
 *   <li><b>attention block</b>: each layer's attention core is cut out of the layer's graph; its output is a leaf whose
 *   gradient {@link AttentionCore#backward} turns into the gradients of q, k and v a block of query rows at a time,
 *   which then flow on into the projections and the layer input. No layer keeps a {@code [B,H,T,T]} tensor: what it
 *   keeps instead is q, k and v, which the projections' graph keeps anyway.</li>
 * </ul>
 * Both give the plain path's gradients up to float rounding ({@code TrainingPassTest}).
 */
public final class TrainingPass {
    /** One layer's graph: its input leaf, its output, and, when attention is cut out, q, k, v and the core's output leaf. */
    private record LayerGraph(NDArray input, NDArray output, NDArray q, NDArray k, NDArray v, NDArray core) {
        List<NDArray> handles() {
            List<NDArray> all = new ArrayList<>(List.of(input, output));
            if (core != null) {
                all.addAll(List.of(q, k, v, core));
            }
            return all;
        }
    }

    private final NDArray hidden;
    /** The embedding output with its graph (to the embedding weight); null for the whole-graph pass. */
    private final NDArray embedded;
    /** The last layer's output as a leaf, under the final norm; null for the whole-graph pass. */
    private final NDArray top;
    private final List<DecoderLayer> layers;
    private final PassInputs in;
    /** With recompute: each layer's input, without a graph. */
    private final List<NDArray> inputs;
    /** Without recompute: each layer's graph, made in the forward pass. */
    private final List<LayerGraph> graphs;

    private TrainingPass(NDArray hidden, NDArray embedded, NDArray top, List<DecoderLayer> layers, PassInputs in,
                         List<NDArray> inputs, List<LayerGraph> graphs) {
        this.hidden = hidden;
        this.embedded = embedded;
        this.top = top;
        this.layers = layers;
        this.in = in;
        this.inputs = inputs;
        this.graphs = graphs;
    }

    static TrainingPass wholeGraph(NDArray hidden) {
        return new TrainingPass(hidden, null, null, List.of(), null, List.of(), List.of());
    }

    /** Runs the layers on {@code embedded} (with its graph), keeping inputs ({@code recompute}) or per-layer graphs. */
    static TrainingPass layerwise(NDArray embedded, List<DecoderLayer> layers, RmsNorm norm, PassInputs in,
                                  boolean recompute) {
        List<NDArray> inputs = new ArrayList<>();
        List<LayerGraph> graphs = new ArrayList<>();
        NDArray x = embedded;
        for (DecoderLayer layer : layers) {
            if (recompute) {
                NDArray input = x == embedded ? embedded.stopGradient() : x;
                inputs.add(input);
                try (GradModeOff off = new GradModeOff(); NDScope scope = new NDScope()) {
                    x = layer.forward(input, in);
                    NDScope.unregister(x);
                }
            } else {
                try (NDScope scope = new NDScope()) {
                    LayerGraph graph = graph(layer, leaf(x), in);
                    graph.handles().forEach(NDScope::unregister);
                    graphs.add(graph);
                    x = graph.output();
                }
            }
        }
        // Recomputed layers left x without a graph, so it is a leaf already; a layer graph's output is cut off here.
        NDArray top = recompute ? x : leaf(x);
        top.setRequiresGradient(true);
        NDArray hidden = norm.forward(top, in.type());
        return new TrainingPass(hidden, embedded, top, layers, in, inputs, graphs);
    }

    /** Final hidden states {@code [B,T,H]}, in the graph that {@link #backward} differentiates. */
    public NDArray hidden() {
        return hidden;
    }

    /**
     * Accumulates into every weight's gradient the gradient of {@code loss}, a scalar computed from {@link #hidden}.
     * Call once, inside the gradient collector the forward ran in.
     */
    public void backward(NDArray loss) {
        backward(loss, loss.getManager().ones(loss.getShape(), loss.getDataType()));
        if (embedded == null) {
            return;
        }
        NDArray grad = top.getGradient();
        top.close();
        for (int i = layers.size() - 1; i >= 0; i--) {
            LayerGraph graph = inputs.isEmpty() ? graphs.get(i) : recomputed(i);
            NDArray inputGrad;
            try (NDScope scope = new NDScope()) {
                inputGrad = layerBackward(graph, grad);
                NDScope.unregister(inputGrad);
                // The handles hold the layer's tensors; closing them frees the layer as soon as it is differentiated.
                graph.handles().forEach(NDArray::close);
                if (!inputs.isEmpty()) {
                    inputs.get(i).close();
                }
            }
            grad.close();
            grad = inputGrad;
        }
        backward(embedded, grad);
        grad.close();
    }

    /** Layer {@code i} run again from its kept input, its forward's temporaries closed: autograd keeps what it needs. */
    private LayerGraph recomputed(int i) {
        try (NDScope scope = new NDScope()) {
            LayerGraph graph = graph(layers.get(i), leaf(inputs.get(i)), in);
            graph.handles().forEach(NDScope::unregister);
            return graph;
        }
    }

    /**
     * The layer's graph from {@code input} (a leaf). With a blocked attention the core is computed without a graph and
     * enters as a leaf, so the graph holds no scores; otherwise it is the layer's plain forward.
     */
    private static LayerGraph graph(DecoderLayer layer, NDArray input, PassInputs in) {
        if (in.attentionBlock() == 0) {
            return new LayerGraph(input, layer.forward(input, in), null, null, null, null);
        }
        NDArray[] qkv = layer.selfAttn().project(layer.inputNorm().forward(input, in.type()), in);
        NDArray core;
        try (GradModeOff off = new GradModeOff()) {
            core = AttentionCore.forward(qkv[0], qkv[1], qkv[2], in.mask(), in.wholeMask(), in.attentionBlock());
        }
        core.setRequiresGradient(true);
        NDArray output = layer.feedForward(input.add(layer.selfAttn().output(core, in)), in.type());
        return new LayerGraph(input, output, qkv[0], qkv[1], qkv[2], core);
    }

    /** Differentiates one layer's graph given the gradient of its output; returns the gradient of its input. */
    private NDArray layerBackward(LayerGraph graph, NDArray outputGrad) {
        backward(graph.output(), outputGrad);
        if (graph.core() != null) {
            NDArray[] d = AttentionCore.backward(graph.q(), graph.k(), graph.v(), graph.core().getGradient(), in.mask(),
                    in.attentionBlock());
            // sum(q * dq) + sum(k * dk) + sum(v * dv) has exactly dq, dk, dv as its gradients: one backward call takes
            // all three on through the projections (and the repeat of k and v for grouped-query attention).
            NDArray surrogate = graph.q().mul(d[0]).sum().add(graph.k().mul(d[1]).sum()).add(graph.v().mul(d[2]).sum());
            backward(surrogate, surrogate.getManager().ones(surrogate.getShape(), surrogate.getDataType()));
        }
        return graph.input().getGradient();
    }

    /** Autograd's backward from {@code output} with {@code outputGrad} as its gradient, freeing the graph it ran. */
    static void backward(NDArray output, NDArray outputGrad) {
        JniUtils.backward((PtNDArray) output, (PtNDArray) outputGrad, false, false);
    }

    /** {@code x}'s values as a leaf that autograd differentiates (a view: no copy). */
    static NDArray leaf(NDArray x) {
        NDArray leaf = x.stopGradient();
        leaf.setRequiresGradient(true);
        return leaf;
    }

    /** Autograd off for a block of code, then back to what it was (torch's {@code no_grad}). */
    private static final class GradModeOff implements AutoCloseable {
        private final boolean before = JniUtils.isGradMode();

        GradModeOff() {
            JniUtils.setGradMode(false);
        }

        @Override
        public void close() {
            JniUtils.setGradMode(before);
        }
    }
}
