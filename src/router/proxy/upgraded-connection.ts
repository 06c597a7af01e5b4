/** An upgraded connection (WebSocket tunnel) the release must be able to cut when a drain times out. */
export interface UpgradedConnection {
  destroy(): void;
}
