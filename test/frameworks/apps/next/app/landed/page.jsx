export default function Landed() {
  return <p id="landed">landed</p>;
}
