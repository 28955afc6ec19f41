package org.agentflan.trainer.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
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
        this.settings = settings;
        this.manager = manager;
        for (Map.Entry<String, NDArray> e : params.entrySet()) {
            NDArray p = e.getValue();
            if (p.getDataType() != DataType.FLOAT32) {
                throw new IllegalArgumentException("parameter " + e.getKey() + " is " + p.getDataType()
                        + "; AdamW updates fp32 master weights");
            }
            expAvg.put(e.getKey(), manager.zeros(p.getShape(), DataType.FLOAT32, p.getDevice()));
            expAvgSq.put(e.getKey(), manager.zeros(p.getShape(), DataType.FLOAT32, p.getDevice()));
            decays.put(e.getKey(), p.getShape().dimension() >= 2);
        }
    }

    public Settings settings() {
        return settings;
    }

    public long step() {
        return step;
    }

    /** Whether weight decay applies to this parameter (2-D and above). */
    public boolean decays(String name) {
        return decays.get(name);
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

    /** Restores moments and step; every parameter must be present with its shape, else the error says which. */
    public void loadState(Map<String, NDArray> tensors, long savedStep) {
        List<String> problems = new ArrayList<>();
        for (String name : expAvg.keySet()) {
            for (String prefix : List.of("exp_avg.", "exp_avg_sq.")) {
                NDArray saved = tensors.get(prefix + name);
                NDArray mine = (prefix.equals("exp_avg.") ? expAvg : expAvgSq).get(name);
                if (saved == null) {
                    problems.add("missing " + prefix + name);
                } else if (!saved.getShape().equals(mine.getShape())) {
                    problems.add(prefix + name + " has shape " + saved.getShape() + ", the model needs " + mine.getShape());
                }
            }
        }
        if (tensors.size() != 2 * expAvg.size()) {
            problems.add("state holds " + tensors.size() + " tensors, the model needs " + 2 * expAvg.size());
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("optimizer state does not match the model: " + String.join("; ", problems));
        }
        for (String name : List.copyOf(expAvg.keySet())) {
            expAvg.put(name, adopt(expAvg.get(name), tensors.get("exp_avg." + name)));
            expAvgSq.put(name, adopt(expAvgSq.get(name), tensors.get("exp_avg_sq." + name)));
        }
        step = savedStep;
    }

    /** A copy of {@code saved} on the device and in the manager of {@code current}, which it replaces. */
    private NDArray adopt(NDArray current, NDArray saved) {
        NDArray copy = saved.toDevice(current.getDevice(), true).toType(DataType.FLOAT32, false);
        copy.attach(manager);
        current.close();
        return copy;
    }
}
