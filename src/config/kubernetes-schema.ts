import net from 'node:net';
import { z } from 'zod';
import { strictMap, text, wholeNumber } from './schema-fields.js';

/**
 * The `kubernetes:` map of a service with `runtime: kubernetes`: where its
 * Deployments go (namespace; a kubeconfig file and context, or the pod's own
 * service account when cutover runs inside the cluster) and how cutover
 * reaches their pods. The image, pull, resources and labels keys are the
 * docker ones (docker-schema.ts); cross-field checks are in kubernetes-checks.ts.
 */

/** A namespace is a DNS-1123 label: lower-case letters, digits and "-", at most 63, starting and ending alphanumeric. */
const NAMESPACE_EXPECTED =
  'expected a Kubernetes namespace: lower-case letters, digits and "-", at most 63 characters, like shop-prod';
const namespace = z
  .string({ error: NAMESPACE_EXPECTED })
  .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, { error: NAMESPACE_EXPECTED });

const ADDRESS_EXPECTED = 'expected the IP address the pods listen on, like 127.0.0.1';

export const kubernetesServiceFields = {
  kubernetes: strictMap(
    {
      namespace,
      kubeconfig: text('expected the path of a kubeconfig file').optional(),
      context: text('expected the name of a context in the kubeconfig').optional(),
      network: z.enum(['pod', 'host'], { error: 'expected pod or host' }).optional(),
      container_port: wholeNumber(1, 65535).optional(),
      address: z
        .string({ error: ADDRESS_EXPECTED })
        .refine((value) => net.isIP(value.trim()) !== 0, { error: ADDRESS_EXPECTED })
        .optional(),
    },
    'expected a map like { namespace: shop, kubeconfig: /etc/cutover/kubeconfig, context: prod }',
  ).optional(),
};

export const KUBERNETES_ONLY_KEYS = Object.keys(kubernetesServiceFields);
