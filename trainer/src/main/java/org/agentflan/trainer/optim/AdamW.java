package org.agentflan.trainer.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * AdamW with decoupled weight decay, written from {@code torch.optim.AdamW}'s update so that its state is ours to
 * save: fp32 first and second moments per parameter and the step count. Weight decay applies to parameters with
 * two or more dimensions only (never to norms or biases). Updates run in place, outside any gradient recording.
 */
public final class AdamW {
    /** Hyper-parameters; the learning rate comes per step from the schedule. */
    public record Settings(double beta1, double beta2, double eps, double weightDecay) {}

    private final Settings settings;
    private final NDManager manager;
    private final Map<String, NDArray> expAvg = new LinkedHashMap<>();
    private final Map<String, NDArray> expAvgSq = new LinkedHashMap<>();
    private final Map<String, Boolean> decays = new LinkedHashMap<>();
    private long step;

    /** @param params the fp32 master parameters by name; moments start at zero, owned by {@code manager}. */
    public AdamW(Settings settings, Map<String, NDArray> params, NDManager manager) {
        this(settings, params, decaysOf(params), manager, true);
    }

    /**
     * An optimizer over arrays whose shape does not tell whether they decay: the 1-D pieces of parameters a ZeRO rank
     * owns, each decaying as the parameter it is cut from ({@code decays}: name to whether weight decay applies).
     */
    public AdamW(Settings settings, Map<String, NDArray> params, Map<String, Boolean> decays, NDManager manager) {
        this(settings, params, decays, manager, true);
    }

    /** Weight decay for parameters with two or more dimensions, as {@code torch.optim.AdamW} is used for Llama. */
    public static Map<String, Boolean> decaysOf(Map<String, NDArray> params) {
        Map<String, Boolean> decays = new LinkedHashMap<>();
        params.forEach((name, p) -> decays.put(name, p.getShape().dimension() >= 2));
        return decays;
    }

    /**
     * An optimizer resumed from saved state: each moment is allocated once, uninitialised, and filled in place by
     * {@code source} (see {@code loadState}), so resuming neither zeroes nor copies the moments first.
     */
    public static AdamW restore(Settings settings, Map<String, NDArray> params, NDManager manager,
                                Map<String, Shape> savedShapes, MomentSource source, long savedStep) throws IOException {
        return restore(settings, params, decaysOf(params), manager, savedShapes, source, savedStep);
    }

    /** {@link #restore} with explicit weight-decay flags, as {@link #AdamW(Settings, Map, Map, NDManager)}. */
    public static AdamW restore(Settings settings, Map<String, NDArray> params, Map<String, Boolean> decays,
                                NDManager manager, Map<String, Shape> savedShapes, MomentSource source, long savedStep)
            throws IOException {
        AdamW adamw = new AdamW(settings, params, decays, manager, false);
        adamw.loadState(savedShapes, source, savedStep);
        return adamw;
    }

    private AdamW(Settings settings, Map<String, NDArray> params, Map<String, Boolean> decays, NDManager manager,
                  boolean zeroMoments) {
        this.settings = settings;
        this.manager = manager;
        for (Map.Entry<String, NDArray> e : params.entrySet()) {
            NDArray p = e.getValue();
            if (p.getDataType() != DataType.FLOAT32) {
                throw new IllegalArgumentException("parameter " + e.getKey() + " is " + p.getDataType()
                        + "; AdamW updates fp32 master weights");
            }
            expAvg.put(e.getKey(), newMoment(p, zeroMoments));
            expAvgSq.put(e.getKey(), newMoment(p, zeroMoments));
            Boolean decay = decays.get(e.getKey());
            if (decay == null) {
                throw new IllegalArgumentException("no weight-decay flag for parameter " + e.getKey());
            }
            this.decays.put(e.getKey(), decay);
        }
    }

    private NDArray newMoment(NDArray param, boolean zeroed) {
        return zeroed ? manager.zeros(param.getShape(), DataType.FLOAT32, param.getDevice())
                : manager.create(param.getShape(), DataType.FLOAT32, param.getDevice());
    }

    public Settings settings() {
        return settings;
    }

    public long step() {
        return step;
    }

    /**
     * One update of every parameter with its gradient (same names and order as at construction).
     *
     * @param lr this step's learning rate
     */
    public void update(Map<String, NDArray> params, Map<String, NDArray> grads, double lr) {
        step++;
        double bias1 = 1 - Math.pow(settings.beta1, step);
        double bias2Sqrt = Math.sqrt(1 - Math.pow(settings.beta2, step));
        double stepSize = lr / bias1;
        for (Map.Entry<String, NDArray> e : params.entrySet()) {
            String name = e.getKey();
            NDArray param = e.getValue();
            NDArray grad = grads.get(name);
            NDArray m = expAvg.get(name);
            NDArray v = expAvgSq.get(name);
            if (grad == null || m == null) {
                throw new IllegalArgumentException("no gradient or optimizer state for parameter " + name);
            }
            try (NDManager scope = manager.newSubManager()) {
                NDArray g = grad;
                if (grad.getDataType() != DataType.FLOAT32) {
                    g = grad.toType(DataType.FLOAT32, true);
                    g.attach(scope);
                }
                if (decays.get(name) && settings.weightDecay != 0) {
                    param.muli((float) (1 - lr * settings.weightDecay));
                }
                NDArray gScaled = g.mul((float) (1 - settings.beta1));
                gScaled.attach(scope);
                m.muli((float) settings.beta1).addi(gScaled);
                NDArray gSq = g.mul(g).muli((float) (1 - settings.beta2));
                gSq.attach(scope);
                v.muli((float) settings.beta2).addi(gSq);
                NDArray denom = v.sqrt().divi((float) bias2Sqrt).addi((float) settings.eps);
                denom.attach(scope);
                NDArray delta = m.mul((float) stepSize).divi(denom);
                delta.attach(scope);
                param.subi(delta);
            }
        }
    }

    /** The state to save: moments by name (prefixed {@code exp_avg.} / {@code exp_avg_sq.}). */
    public Map<String, NDArray> stateTensors() {
        Map<String, NDArray> out = new LinkedHashMap<>();
        expAvg.forEach((k, v) -> out.put("exp_avg." + k, v));
        expAvgSq.forEach((k, v) -> out.put("exp_avg_sq." + k, v));
        return out;
    }

    /** Writes saved moment values straight into a moment array of this optimizer (same shape, FLOAT32). */
    @FunctionalInterface
    public interface MomentSource {
        void readInto(String name, NDArray destination) throws IOException;
    }

    /**
     * Restores moments and step. {@code savedShapes} names every saved tensor; when it matches this optimizer's
     * moments exactly (else the error lists every mismatch and nothing is read), {@code source} fills each moment in
     * place: no second copy of the state is ever held. If reading fails midway the moments are partly overwritten,
     * so the optimizer must not be used after such an error.
     */
    private void loadState(Map<String, Shape> savedShapes, MomentSource source, long savedStep) throws IOException {
        Map<String, NDArray> mine = stateTensors();
        List<String> problems = new ArrayList<>();
        for (Map.Entry<String, NDArray> e : mine.entrySet()) {
            Shape saved = savedShapes.get(e.getKey());
            if (saved == null) {
                problems.add("missing " + e.getKey());
            } else if (!saved.equals(e.getValue().getShape())) {
                problems.add(e.getKey() + " has shape " + saved + ", the model needs " + e.getValue().getShape());
            }
        }
        if (savedShapes.size() != mine.size()) {
            problems.add("state holds " + savedShapes.size() + " tensors, the model needs " + mine.size());
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("optimizer state does not match the model: " + String.join("; ", problems));
        }
        for (Map.Entry<String, NDArray> e : mine.entrySet()) {
            source.readInto(e.getKey(), e.getValue());
        }
        step = savedStep;
    }
}
