// The build of Bottleneck that Octokit's throttling and retry plugins load (the same class, without clustering).
declare module 'bottleneck/light.js' {
  import Bottleneck from 'bottleneck';
  export default Bottleneck;
}
