package org.agentflan.trainer.data;

import java.util.List;

/**
 * Packed rows in training order: each epoch visits the samples in {@link EpochOrder}, the {@link Packer} fills rows
 * sequentially, and a row never spans two epochs. The stream stops after {@code epochLimit} epochs (or never, when
 * the limit is {@link Long#MAX_VALUE}). {@link #cursor()} is exact at every row boundary.
 */
public final class DataStream {
    private final List<Sample> samples;
    private final Packer packer;
    private final long seed;
    private final boolean shuffle;
    private final long epochLimit;
    private long epoch;
    private int position;
    private int piece;
    private int[] order;

    public DataStream(List<Sample> samples, Packer packer, long seed, boolean shuffle, long epochLimit) {
        if (samples.isEmpty()) {
            throw new DataException("no training samples");
        }
        this.samples = samples;
        this.packer = packer;
        this.seed = seed;
        this.shuffle = shuffle;
        this.epochLimit = epochLimit;
        seek(DataCursor.START);
    }

    public DataCursor cursor() {
        return new DataCursor(epoch, position, piece);
    }

    public void seek(DataCursor cursor) {
        if (cursor.position() < 0 || cursor.position() > samples.size()) {
            throw new DataException("cursor " + cursor + " does not fit a dataset of " + samples.size() + " samples");
        }
        epoch = cursor.epoch();
        position = cursor.position();
        piece = cursor.piece();
        order = EpochOrder.of(seed, epoch, samples.size(), shuffle);
    }

    /** The next packed row, or null when the epochs are used up. */
    public Packer.PackedRow next() {
        Packer.RowBuilder row = fill(false);
        return row == null ? null : row.build();
    }

    /** Rows from the current cursor to the end of the epoch limit, without building them (cursor is kept). */
    public long countRemainingRows() {
        if (epochLimit == Long.MAX_VALUE) {
            throw new IllegalStateException("an endless stream has no row count");
        }
        DataCursor saved = cursor();
        long rows = 0;
        while (fill(true) != null) {
            rows++;
        }
        seek(saved);
        return rows;
    }

    /** Rows one epoch gives (for the log and the ETA); computed on a copy of epoch 0. */
    public long rowsPerEpoch() {
        DataStream copy = new DataStream(samples, packer, seed, shuffle, 1);
        return copy.countRemainingRows();
    }

    private Packer.RowBuilder fill(boolean countOnly) {
        Packer.RowBuilder row = packer.newRow(countOnly);
        while (true) {
            if (position == samples.size()) {
                if (!row.isEmpty()) {
                    return row;
                }
                if (epoch + 1 >= epochLimit) {
                    return null;
                }
                epoch++;
                position = 0;
                piece = 0;
                order = EpochOrder.of(seed, epoch, samples.size(), shuffle);
                continue;
            }
            List<Packer.Piece> pieces = packer.pieces(samples.get(order[position]));
            if (piece >= pieces.size()) {
                position++;
                piece = 0;
                continue;
            }
            Packer.Piece p = pieces.get(piece);
            if (!row.fits(p)) {
                return row;
            }
            row.add(p);
            piece++;
        }
    }
}
