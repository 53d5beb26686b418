// The proposed causal graph as a clickable picture in the chat (a Chainlit custom element,
// loaded from /public/elements without a build step). Props come from ui.render's
// graph_element_props: boxes and edge paths on the PNG's layout, the legend, and each
// node's spelling in a typed command ("ref"). A click never edits anything itself: it
// sends the command a user would type ("remove edge age -> treat") as the user's message,
// so the server checks the names and the edit is acknowledged and redrawn as typed ones
// are. Node names are data: they are only ever React text, never markup.
import { Button } from "@/components/ui/button";
import { useState } from "react";

const DASH = { solid: undefined, dashed: "6 4", dotted: "2 3" };

export default function CausalGraph() {
  const nodes = props.nodes || [];
  const edges = props.edges || [];
  const [from, setFrom] = useState(null);
  const [chosen, setChosen] = useState(null);
  const [sent, setSent] = useState(null);
  const byName = Object.fromEntries(nodes.map((n) => [n.name, n]));
  // A refused edit (a cycle, say) draws no new graph, so this one stays clickable.
  const idle = Boolean(props.stale);

  const send = (op, cause, effect) => {
    const text = `${op} edge ${byName[cause].ref} -> ${byName[effect].ref}`;
    setSent(text);
    setFrom(null);
    setChosen(null);
    sendUserMessage(text);
  };

  const clickNode = (node) => {
    if (idle || node.ref === null) return;
    setSent(null);
    setChosen(null);
    if (from === null || from === node.name) {
      setFrom(from === node.name ? null : node.name);
      return;
    }
    const existing = edges.find((e) => e.cause === from && e.effect === node.name);
    if (existing) {
      setFrom(null);
      setChosen(existing);
      return;
    }
    send("add", from, node.name);
  };

  const clickEdge = (edge) => {
    if (idle || byName[edge.cause].ref === null || byName[edge.effect].ref === null) return;
    setSent(null);
    setFrom(null);
    setChosen(edge);
  };

  let hint = "Click a node, then another, to add an edge; click an edge to remove or reverse it.";
  if (props.stale) hint = "An earlier version of the graph: edit the latest one below.";
  else if (sent) hint = `Sent “${sent}”: the chat answers below.`;
  else if (from !== null) hint = `Arrow from ${from}: click the node it points to (or ${from} again to cancel).`;
  else if (chosen) hint = `Edge ${chosen.cause} → ${chosen.effect}:`;

  return (
    <div className="ca-graph" data-testid="causal-graph" data-stale={props.stale ? "true" : "false"}>
      <p className="ca-graph-hint">{hint}</p>
      {chosen && !idle && (
        <div className="ca-graph-actions">
          <Button size="sm" data-testid="graph-remove" onClick={() => send("remove", chosen.cause, chosen.effect)}>
            Remove {chosen.cause} → {chosen.effect}
          </Button>
          <Button size="sm" variant="outline" data-testid="graph-reverse" onClick={() => send("reverse", chosen.cause, chosen.effect)}>
            Reverse to {chosen.effect} → {chosen.cause}
          </Button>
          <Button size="sm" variant="ghost" onClick={() => setChosen(null)}>
            Cancel
          </Button>
        </div>
      )}
      <svg
        viewBox={`0 0 ${props.width} ${props.height}`}
        width="100%"
        style={{ maxWidth: `${props.width}px`, fontFamily: "sans-serif" }}
        role="img"
        aria-label="interactive causal graph"
      >
        <defs>
          <marker id="ca-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
            <path d="M 0 0 L 10 5 L 0 10 z" fill="#444444" />
          </marker>
          <marker id="ca-arrow-chosen" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
            <path d="M 0 0 L 10 5 L 0 10 z" fill="#d62828" />
          </marker>
        </defs>
        {edges.map((edge) => {
          const isChosen = chosen && chosen.cause === edge.cause && chosen.effect === edge.effect;
          return (
            <g
              key={`${edge.cause}\u0000${edge.effect}`}
              data-edge={`${edge.cause} -> ${edge.effect}`}
              onClick={() => clickEdge(edge)}
              style={{ cursor: idle ? "default" : "pointer" }}
            >
              <path
                d={edge.path}
                fill="none"
                stroke={isChosen ? "#d62828" : "#444444"}
                strokeWidth={isChosen ? 2.5 : 1.3}
                strokeDasharray={DASH[edge.style]}
                markerEnd={isChosen ? "url(#ca-arrow-chosen)" : "url(#ca-arrow)"}
              />
              <path d={edge.path} fill="none" stroke="transparent" strokeWidth="14" pointerEvents="stroke" />
              <title>{`${edge.cause} → ${edge.effect}`}</title>
            </g>
          );
        })}
        {nodes.map((node) => (
          <g
            key={node.name}
            data-node={node.name}
            onClick={() => clickNode(node)}
            style={{ cursor: idle || node.ref === null ? "default" : "pointer" }}
          >
            <rect
              x={node.x - node.w / 2}
              y={node.y - node.h / 2}
              width={node.w}
              height={node.h}
              rx="7"
              fill={node.colour}
              stroke={from === node.name ? "#d62828" : "#333333"}
              strokeWidth={from === node.name ? 3 : node.role === "treatment" || node.role === "outcome" ? 1.8 : 0.9}
              strokeDasharray={node.role === "unobserved" ? "5 3" : undefined}
            />
            <text x={node.x} y={node.y} textAnchor="middle" dominantBaseline="central" fontSize="13" fill="#111111">
              {node.label}
            </text>
            <title>{node.name}</title>
          </g>
        ))}
      </svg>
      <ul className="ca-graph-legend">
        {(props.legend || []).map((item) => (
          <li key={item.role}>
            <span className="ca-graph-swatch" style={{ background: item.colour }} />
            {item.label}
          </li>
        ))}
        {(props.edge_styles || []).map((item) => (
          <li key={item.style}>
            <svg width="28" height="8" aria-hidden="true">
              <line x1="0" y1="4" x2="28" y2="4" stroke="#444444" strokeWidth="1.5" strokeDasharray={DASH[item.style]} />
            </svg>
            edge: {item.label}
          </li>
        ))}
      </ul>
    </div>
  );
}
