import { count, oddsPhrase, waitEstimate } from "../queue.js";

// Where a waiting shopper stands, from the public state and their own rank: no request
// of its own. The figures change on every poll, so they are not a live region; the
// waiting room announces the rounded position instead.
export function QueueStatus({ room, place }) {
  return (
    <div className="queue-status">
      <dl className="queue-figures">
        <div>
          <dt>Your place in line</dt>
          <dd data-testid="queue-position">{count(place.position)}</dd>
        </div>
        <div>
          <dt>Shoppers ahead of you</dt>
          <dd data-testid="queue-ahead">{count(place.ahead)}</dd>
        </div>
        <div>
          <dt>Your turn</dt>
          <dd data-testid="queue-estimate">{waitEstimate(place.ahead, room.ratePerSecond)}</dd>
        </div>
      </dl>
      <p className="queue-odds" data-testid="queue-odds">
        {oddsPhrase(room.unitsLeft, place.ahead)}
      </p>
    </div>
  );
}
