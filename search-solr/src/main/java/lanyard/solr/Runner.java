package lanyard.solr;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.solr.client.solrj.request.CollectionAdminRequest;
import org.apache.solr.cloud.MiniSolrCloudCluster;
import org.apache.solr.common.cloud.DocCollection;
import org.apache.solr.common.cloud.Replica;
import org.apache.solr.common.cloud.Slice;
import org.apache.solr.embedded.JettyConfig;
import org.apache.solr.embedded.JettySolrRunner;

/**
 * lanyard's Solr for tests, benches and trying Solr out (`lanyard solr serve`), started from
 * Solr's Maven artifacts.
 *
 * <pre>
 *   Runner standalone --conf DIR --dir WORK [--port P] [--name lanyard] [--control]
 *   Runner cloud      --conf DIR --dir WORK [--port P] [--name lanyard] [--control]
 *   Runner zk         --conf DIR --dir WORK [--name lanyard] [--control]
 *   Runner node       --zk HOST:PORT/solr --dir WORK [--port P] [--name lanyard] [--control]
 * </pre>
 *
 * standalone: one Jetty, a core NAME made from configset DIR (copied to WORK/configsets/NAME,
 * so CoreAdmin CREATE configSet=NAME makes more cores of it, e.g. for a rebuild's SWAP).
 * cloud: an embedded ZooKeeper and two nodes, the configset uploaded as NAME, a collection
 * NAME_1 of 2 shards x 2 replicas with each shard on both nodes, and the alias NAME for it.
 *
 * zk and node: the same SolrCloud in separate processes, so that a test can kill one node's
 * JVM outright (SIGKILL: nothing deregisters it from ZooKeeper until its session expires).
 * zk: only the embedded ZooKeeper (a MiniSolrCloudCluster of no nodes: solr.xml in ZooKeeper)
 * with the configset uploaded as NAME; its line gives the ZooKeeper address. node: one Solr
 * node joining that ZooKeeper, its Solr home in WORK (restarted on the same WORK and port, it
 * finds its cores and rejoins). The collection is then made through the Collections API.
 *
 * <p>--port P: standalone and node on P, cloud nodes on P and P+1 (default 0: free ports).
 *
 * <p>Once ready it prints one line: {@code LANYARD_SOLR {"mode":..,"urls":[..],"zk":..}}, the
 * URLs being NAME on every node. SIGTERM (or, with --control, the end of stdin) stops it.
 * With --control, stdin lines "stop I" / "start I" stop and restart node I (0-based, same
 * port), each answered by a line "stopped I" / "started I".
 */
public final class Runner {
  private static final String READY = "LANYARD_SOLR ";
  private static final int DEADLINE_S = 120;

  // MiniSolrCloudCluster's solr.xml allowing the 2,048-id query in any hand-written form.
  private static final String CLOUD_SOLR_XML =
      MiniSolrCloudCluster.DEFAULT_CLOUD_SOLR_XML.replace(
          "<solr>", "<solr>\n  <int name=\"maxBooleanClauses\">4096</int>");

  private final Map<String, String> opts;
  private final String name;
  private final List<JettySolrRunner> nodes = new ArrayList<>();
  private MiniSolrCloudCluster cluster;
  private String zk = "";

  private Runner(Map<String, String> opts) {
    this.opts = opts;
    this.name = opts.getOrDefault("--name", "lanyard");
  }

  public static void main(String[] args) throws Exception {
    if (args.length < 1 || !List.of("standalone", "cloud", "zk", "node").contains(args[0])) {
      System.err.println("usage: Runner standalone|cloud|zk|node --conf DIR --dir WORK [--port P] [--name N]"
          + " [--zk ADDRESS] [--control]");
      System.exit(2);
    }
    Map<String, String> opts = new java.util.HashMap<>();
    for (int i = 1; i < args.length; i++) {
      if (args[i].equals("--control")) opts.put("--control", "yes");
      else if (i + 1 < args.length) opts.put(args[i], args[++i]);
    }
    // Jersey (inside Solr) logs through java.util.logging: keep it to real errors.
    java.util.logging.LogManager.getLogManager().reset();
    java.util.logging.Logger.getLogger("").setLevel(java.util.logging.Level.SEVERE);
    Runner runner = new Runner(opts);
    Runtime.getRuntime().addShutdownHook(new Thread(runner::stop, "lanyard-solr-stop"));
    switch (args[0]) {
      case "standalone" -> runner.standalone();
      case "cloud" -> runner.cloud();
      case "zk" -> runner.zookeeper();
      default -> runner.node();
    }
    runner.announce(args[0]);
    if (opts.containsKey("--control")) {
      runner.control();
      System.exit(0); // stdin closed: our parent is gone or done with us
    }
    Thread.currentThread().join(); // until SIGTERM
  }

  private JettyConfig jettyConfig() {
    return JettyConfig.builder()
        .setContext("/solr")
        .setPort(Integer.parseInt(opts.getOrDefault("--port", "0")))
        .stopAtShutdown(false)
        .build();
  }

  private void standalone() throws Exception {
    Path home = Path.of(opts.get("--dir")).toAbsolutePath();
    Path configset = home.resolve("configsets").resolve(name).resolve("conf");
    Files.createDirectories(configset);
    try (var files = Files.list(Path.of(opts.get("--conf")))) {
      for (Path file : (Iterable<Path>) files::iterator) {
        Files.copy(file, configset.resolve(file.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      }
    }
    Files.writeString(home.resolve("solr.xml"),
        "<solr><metrics enabled=\"false\"/><int name=\"maxBooleanClauses\">4096</int>"
            + "<str name=\"allowPaths\">" + home + "</str></solr>\n");
    Path core = home.resolve(name);
    if (!Files.exists(core.resolve("core.properties"))) {
      Files.createDirectories(core);
      Files.writeString(core.resolve("core.properties"), "name=" + name + "\nconfigSet=" + name + "\n");
    }
    JettySolrRunner jetty = new JettySolrRunner(home.toString(), jettyConfig());
    jetty.start();
    nodes.add(jetty);
  }

  private void cloud() throws Exception {
    Path work = Path.of(opts.get("--dir")).toAbsolutePath();
    // No nodes from the constructor: it would start both on one port; here the first
    // takes --port (0: any free one) and the second the next one.
    cluster = new MiniSolrCloudCluster(0, work, CLOUD_SOLR_XML, jettyConfig());
    int port = Integer.parseInt(opts.getOrDefault("--port", "0"));
    for (int node = 0; node < 2; node++) {
      JettyConfig config = JettyConfig.builder(jettyConfig()).setPort(port == 0 ? 0 : port + node).build();
      cluster.startJettySolrRunner("node" + (node + 1), "/solr", config);
    }
    cluster.waitForAllNodes(DEADLINE_S);
    zk = cluster.getZkServer().getZkAddress();
    cluster.uploadConfigSet(Path.of(opts.get("--conf")), name);
    String collection = name + "_1";
    CollectionAdminRequest.createCollection(collection, name, 2, 2)
        .process(cluster.getSolrClient());
    cluster.getZkStateReader().waitForState(collection, DEADLINE_S, TimeUnit.SECONDS,
        (live, state) -> state != null && state.getActiveSlices().size() == 2
            && state.getReplicas().stream().filter(r -> r.isActive(live)).count() == 4);
    checkEveryShardOnEveryNode(cluster.getZkStateReader().getClusterState().getCollection(collection));
    CollectionAdminRequest.createAlias(name, collection).process(cluster.getSolrClient());
    nodes.addAll(cluster.getJettySolrRunners());
  }

  private void zookeeper() throws Exception {
    cluster = new MiniSolrCloudCluster(0, Path.of(opts.get("--dir")).toAbsolutePath(), CLOUD_SOLR_XML, jettyConfig());
    zk = cluster.getZkServer().getZkAddress();
    cluster.uploadConfigSet(Path.of(opts.get("--conf")), name);
  }

  private void node() throws Exception {
    zk = opts.get("--zk");
    Path home = Path.of(opts.get("--dir")).toAbsolutePath();
    Files.createDirectories(home);
    java.util.Properties props = new java.util.Properties();
    props.setProperty("zkHost", zk); // solr.xml comes from ZooKeeper, as on the cluster's own nodes
    JettySolrRunner jetty = new JettySolrRunner(home.toString(), props, jettyConfig());
    jetty.start();
    nodes.add(jetty);
  }

  /** Either node may die: refuse to announce a cluster where one holds both replicas of a shard. */
  private void checkEveryShardOnEveryNode(DocCollection state) {
    for (Slice slice : state.getSlices()) {
      long nodeCount = slice.getReplicas().stream().map(Replica::getNodeName).distinct().count();
      if (nodeCount < 2) {
        throw new IllegalStateException("shard " + slice.getName() + " has its replicas on one node");
      }
    }
  }

  private void announce(String mode) {
    StringBuilder urls = new StringBuilder();
    for (JettySolrRunner node : nodes) {
      if (urls.length() > 0) urls.append(',');
      urls.append('"').append(node.getBaseUrl()).append('/').append(name).append('"');
    }
    System.out.println(READY + "{\"mode\":\"" + mode + "\",\"name\":\"" + name + "\",\"urls\":[" + urls
        + "],\"zk\":\"" + zk + "\"}");
    System.out.flush();
  }

  private void control() throws Exception {
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    for (String line; (line = in.readLine()) != null; ) {
      String[] words = line.trim().split("\\s+");
      try {
        if (words.length < 2) throw new IllegalArgumentException("which node?");
        JettySolrRunner node = nodes.get(Integer.parseInt(words[1]));
        if (words[0].equals("stop")) {
          node.stop();
        } else if (words[0].equals("start")) {
          node.start(true);
          if (cluster != null) cluster.waitForNode(node, DEADLINE_S);
        } else {
          throw new IllegalArgumentException("unknown command");
        }
        System.out.println((words[0].equals("stop") ? "stopped " : "started ") + words[1]);
      } catch (Exception error) {
        System.out.println("error " + line + ": " + error);
      }
      System.out.flush();
    }
  }

  private synchronized void stop() {
    try {
      if (cluster != null) cluster.shutdown();
      else for (JettySolrRunner node : nodes) node.stop();
    } catch (Exception error) {
      System.err.println("lanyard solr: stopping: " + error);
    }
    cluster = null;
    nodes.clear();
  }
}
