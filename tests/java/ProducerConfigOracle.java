// The Java producer as an oracle for kafka-producer-core's configuration, run with
// `java -cp '<kafka libs>/*' ProducerConfigOracle.java MODE` (source-file mode, no build):
//
//   names       every producer property name of this Kafka version, one per line;
//   load FILE   the entries java.util.Properties.load reads from FILE (as Kafka's tools load
//               it: from an InputStream), sorted, key and value escaped, tab-separated;
//   check       for each line of stdin (properties separated by tabs, key=value), whether
//               KafkaProducer accepts them: "ok" or "error<TAB>message". bootstrap.servers
//               and the two serializers are added; no connection is made.
import java.io.*;
import java.nio.charset.StandardCharsets;
import java.util.*;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;

public class ProducerConfigOracle {
    static String escape(String s) {
        StringBuilder b = new StringBuilder();
        for (char c : s.toCharArray()) {
            if (c < 0x20 || c > 0x7e || c == '\\') b.append(String.format("\\u%04x", (int) c));
            else b.append(c);
        }
        return b.toString();
    }

    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "names":
                for (String name : new TreeSet<>(ProducerConfig.configNames())) System.out.println(name);
                break;
            case "load": {
                Properties p = new Properties();
                try (InputStream in = new FileInputStream(args[1])) { p.load(in); }
                for (String k : new TreeSet<>(p.stringPropertyNames()))
                    System.out.println(escape(k) + "\t" + escape(p.getProperty(k)));
                break;
            }
            case "check": {
                BufferedReader r = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
                String line;
                while ((line = r.readLine()) != null) {
                    Properties p = new Properties();
                    p.put("bootstrap.servers", "127.0.0.1:1");
                    p.put("key.serializer", "org.apache.kafka.common.serialization.ByteArraySerializer");
                    p.put("value.serializer", "org.apache.kafka.common.serialization.ByteArraySerializer");
                    for (String kv : line.split("\t")) {
                        if (kv.isEmpty()) continue;
                        int i = kv.indexOf('=');
                        p.put(kv.substring(0, i), kv.substring(i + 1));
                    }
                    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p)) {
                        System.out.println("ok");
                    } catch (Throwable t) {
                        Throwable root = t;
                        while (root.getCause() != null) root = root.getCause();
                        System.out.println("error\t" + root.getMessage());
                    }
                }
                break;
            }
            default:
                throw new IllegalArgumentException(args[0]);
        }
    }
}
