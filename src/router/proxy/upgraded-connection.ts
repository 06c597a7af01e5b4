/** An upgraded connection (WebSocket tunnel) the release must be able to cut when a drain times out. */
export interface UpgradedConnection {
  destroy(): void;
  /** The proxy is going away (a handover): close politely where the protocol has a way to (WebSocket close 1001). */
  goAway(): void;
}
