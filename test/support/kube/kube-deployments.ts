import { kubeApiOk, type KubeApiTarget } from './kube-api.js';

/** A Deployment cutover made for one instance, as its labels and uid tell it. */
export interface CutoverDeployment {
  release: string;
  slot: string;
  instance: string;
  uid: string;
}

/** The Deployments cutover made for a service in a namespace, sorted by release then instance. */
export async function cutoverDeployments(
  api: KubeApiTarget,
  namespace: string,
  service: string,
): Promise<CutoverDeployment[]> {
  const selector = encodeURIComponent(`cutover.service=${service}`);
  const answer = await kubeApiOk(
    api,
    'GET',
    `/apis/apps/v1/namespaces/${namespace}/deployments?labelSelector=${selector}`,
  );
  return (answer.json as { items: { metadata: { uid: string; labels: Record<string, string> } }[] }).items
    .map(({ metadata: { uid, labels } }) => ({
      release: labels['cutover.release'] ?? '',
      slot: labels['cutover.slot'] ?? '',
      instance: labels['cutover.instance'] ?? '',
      uid,
    }))
    .sort((a, b) => `${a.release}/${a.instance}`.localeCompare(`${b.release}/${b.instance}`));
}
