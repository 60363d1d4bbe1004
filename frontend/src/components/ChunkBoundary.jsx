import { Component } from "react";

// A lazy chunk that fails to load (offline, or an old page after a deploy replaced
// it) gets a way out instead of a blank page: `message` says what is missing and
// what still holds, and Reload fetches the page again.
export class ChunkBoundary extends Component {
  state = { failed: false };

  static getDerivedStateFromError() {
    return { failed: true };
  }

  render() {
    if (!this.state.failed) return this.props.children;
    return (
      <div role="alert">
        <p>{this.props.message}</p>
        <button type="button" onClick={() => window.location.reload()}>
          Reload
        </button>
      </div>
    );
  }
}
