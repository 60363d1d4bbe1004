import { API_BASE } from "../api.js";
import { absoluteBase, count, verifyCommand } from "../queue.js";

// The shuffle's evidence, for the curious: the commitment before the start, then the
// seed it commits to, the digest of the frozen list, and how to recompute a place.
export function ShuffleCheck({ room, productId, entryId, apiBase = API_BASE }) {
  const started = Boolean(room.seed);
  return (
    <details className="shuffle" data-testid="shuffle-check">
      <summary>Check the shuffle</summary>
      <p>
        Before the sale starts, the shop publishes a fingerprint (SHA-256) of a secret random seed. At the start it
        reveals the seed, and the places of everyone who joined before then follow from the seed and the list of
        entries by a published rule, so nobody could choose who goes first. Shoppers who join after the start
        follow them in the order they joined.
      </p>
      <dl className="shuffle-facts">
        <div>
          <dt>Commitment, SHA-256 of the seed</dt>
          <dd className="mono" data-testid="shuffle-commitment">
            {room.commitment}
          </dd>
        </div>
        {started && (
          <>
            <div>
              <dt>Seed</dt>
              <dd className="mono" data-testid="shuffle-seed">
                {room.seed}
              </dd>
            </div>
            <div>
              <dt>Digest of the shuffled list</dt>
              <dd className="mono" data-testid="shuffle-digest">
                {room.digest}
              </dd>
            </div>
            {room.preCount != null && (
              <div>
                <dt>Shuffled before the start</dt>
                <dd data-testid="shuffle-pre-count">{count(room.preCount)} shoppers</dd>
              </div>
            )}
          </>
        )}
        {entryId && (
          <div>
            <dt>Your entry id</dt>
            <dd className="mono" data-testid="queue-entry-id">
              {entryId}
            </dd>
          </div>
        )}
      </dl>
      {!started ? (
        <p>The seed is revealed when the sale starts.</p>
      ) : entryId ? (
        <p>
          To recompute your place yourself, run{" "}
          <code className="mono" data-testid="shuffle-command">
            {verifyCommand(absoluteBase(apiBase), productId, entryId)}
          </code>
        </p>
      ) : null}
    </details>
  );
}
