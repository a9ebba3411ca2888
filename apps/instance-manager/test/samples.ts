/**
 * Upstream-style InstanceGroup manifests (from keikoproj/instance-manager's docs and the reference
 * notes), written out as YAML exactly as users have them. docs/instance-manager.md shows the same.
 */
export const UPSTREAM_SAMPLES = {
  rollingUpdate: `
apiVersion: instancemgr.keikoproj.io/v1alpha1
kind: InstanceGroup
metadata:
  name: hello-world
  annotations:
    instancemgr.keikoproj.io/cluster-autoscaler-enabled: "true"
spec:
  provisioner: eks
  strategy:
    type: rollingUpdate
    rollingUpdate:
      maxUnavailable: 1
  eks:
    minSize: 3
    maxSize: 6
    configuration:
      clusterName: my-eks-cluster
      bootstrapArguments: <kubelet-args>
      taints:
      - key: node-role.kubernetes.io/some-taint
        value: some-value
        effect: NoSchedule
      labels:
        example.label.com/label: some-value
      keyPairName: my-ec2-key-pair
      image: ami-076c743acc3ec4159
      instanceType: m5.large
      volumes:
      - name: /dev/xvda
        type: gp2
        size: 32
      subnets:
      - subnet-0bf9bc85fEXAMPLE
      - subnet-0c4e3c9a4EXAMPLE
      securityGroups:
      - sg-04adb6343EXAMPLE
      tags:
      - key: my-ec2-tag
        value: some-value
`,
  batchWorkers: `
apiVersion: instancemgr.keikoproj.io/v1alpha1
kind: InstanceGroup
metadata:
  name: batch-workers
  annotations: {instancemgr.keikoproj.io/cluster-autoscaler-enabled: "true"}
spec:
  provisioner: eks
  strategy: {type: rollingUpdate, rollingUpdate: {maxUnavailable: 25%}}
  eks:
    minSize: 2
    maxSize: 10
    type: LaunchTemplate
    configuration:
      clusterName: prod-east
      image: latest
      instanceType: m6i.xlarge
      subnets: [private-a, private-b]
      securityGroups: [sg-0abc1234def567890]
      labels: {workload: batch}
      taints: [{key: dedicated, value: batch, effect: NoSchedule}]
      volumes: [{name: /dev/xvda, type: gp3, size: 80, throughput: 250}]
      mixedInstancesPolicy: {instancePool: SubFamilyFlexible, spotRatio: 60%, baseCapacity: 1}
      lifecycleHooks: [{name: drain-hook, lifecycle: terminate, heartbeatTimeout: 600}]
`,
  crdStrategy: `
apiVersion: instancemgr.keikoproj.io/v1alpha1
kind: InstanceGroup
metadata:
  name: hello-world-crd
spec:
  provisioner: eks
  strategy:
    type: crd
    crd:
      crdName: rollingupgrades
      statusJSONPath: .status.currentStatus
      statusSuccessString: completed
      statusFailureString: error
      concurrencyPolicy: Forbid
      spec: |
        apiVersion: upgrademgr.keikoproj.io/v1alpha1
        kind: RollingUpgrade
        metadata:
          name: rollup-nodes
          namespace: instance-manager
        spec:
          postDrainDelaySeconds: 30
          nodeIntervalSeconds: 30
          asgName: {{ .InstanceGroup.Status.ActiveScalingGroupName }}
          strategy:
            mode: eager
            type: randomUpdate
            maxUnavailable: 1
            drainTimeout: 600
  eks:
    minSize: 3
    maxSize: 6
    configuration:
      clusterName: my-eks-cluster
      image: ssm://aws/service/eks/optimized-ami/1.30/amazon-linux-2023/x86_64/standard/recommended/image_id
      instanceType: m5.large
      subnets: [subnet-0bf9bc85fEXAMPLE]
      securityGroups: [sg-04adb6343EXAMPLE]
      suspendProcesses: [AZRebalance]
      metricsCollection: [all]
      userData:
      - name: pre
        stage: PreBootstrap
        data: echo hello
      metadataOptions: {httpTokens: required, httpPutHopLimit: 2}
`,
  warmPool: `
apiVersion: instancemgr.keikoproj.io/v1alpha1
kind: InstanceGroup
metadata:
  name: warm
  annotations:
    instancemgr.keikoproj.io/os-family: bottlerocket
spec:
  provisioner: eks
  eks:
    minSize: 1
    maxSize: 3
    warmPool:
      minSize: 0
      maxSize: -1
    configuration:
      clusterName: my-eks-cluster
      image: latest
      instanceType: m5.large
      subnets: [subnet-0bf9bc85fEXAMPLE]
      securityGroups: [sg-04adb6343EXAMPLE]
      managedPolicies: [AmazonSSMManagedInstanceCore]
      tagSpecifications:
      - resourceType: instance
        tags: [{key: a, value: b}]
      placement: {tenancy: default}
`,
};
